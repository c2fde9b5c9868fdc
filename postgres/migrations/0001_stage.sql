-- Stage records (one row per subject and pipeline) and their history
-- (one row per change, keyed by version).
CREATE TABLE IF NOT EXISTS leadkit_stage_records (
	pipeline   text        COLLATE "C" NOT NULL,
	kind       text        COLLATE "C" NOT NULL,
	id         text        COLLATE "C" NOT NULL,
	stage      text        NOT NULL,
	sub_status text        NOT NULL DEFAULT '',
	entered_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	version    bigint      NOT NULL CHECK (version >= 1),
	PRIMARY KEY (pipeline, kind, id)
);
CREATE TABLE IF NOT EXISTS leadkit_stage_history (
	pipeline   text        COLLATE "C" NOT NULL,
	kind       text        COLLATE "C" NOT NULL,
	id         text        COLLATE "C" NOT NULL,
	version    bigint      NOT NULL,
	transition text        NOT NULL DEFAULT '',
	from_stage text        NOT NULL DEFAULT '',
	to_stage   text        NOT NULL,
	sub_status text        NOT NULL DEFAULT '',
	at         timestamptz NOT NULL,
	actor      text        NOT NULL DEFAULT '',
	reason     text        NOT NULL DEFAULT '',
	note       text        NOT NULL DEFAULT '',
	trigger    text        NOT NULL,
	PRIMARY KEY (pipeline, kind, id, version)
);
CREATE INDEX IF NOT EXISTS leadkit_stage_records_stage ON leadkit_stage_records (pipeline, stage);
