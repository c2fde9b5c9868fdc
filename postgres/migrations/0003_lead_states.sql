-- The lifecycle engine's state of each lead (lifecycle.LeadState as JSON),
-- with its optimistic version.
CREATE TABLE IF NOT EXISTS leadkit_lead_states (
	lead_id text   COLLATE "C" PRIMARY KEY,
	version bigint NOT NULL CHECK (version >= 1),
	state   jsonb  NOT NULL
);
