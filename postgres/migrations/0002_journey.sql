-- Events, one row per event ID (appends are idempotent by ID); seq orders a
-- lead's events at one instant as they arrived.
CREATE TABLE IF NOT EXISTS leadkit_events (
	id       text        COLLATE "C" PRIMARY KEY,
	lead_id  text        COLLATE "C" NOT NULL,
	type     text        NOT NULL,
	channel  text        NOT NULL DEFAULT '',
	campaign text        NOT NULL DEFAULT '',
	content  text        NOT NULL DEFAULT '',
	time     timestamptz NOT NULL,
	attrs    jsonb,
	seq      bigserial   NOT NULL
);
CREATE INDEX IF NOT EXISTS leadkit_events_lead_time ON leadkit_events (lead_id, time, seq);
