-- IDs and keys sort in byte order (COLLATE "C"), as in the memory stores.
-- The prospect pool: prospects (as JSON beside their version and status),
-- the identity keys that find them (each held by one prospect), and the
-- observations applied (by ID, with their content's hash).
CREATE TABLE IF NOT EXISTS leadkit_prospects (
	id       text   COLLATE "C" PRIMARY KEY,
	version  bigint NOT NULL CHECK (version >= 1),
	status   text   NOT NULL,
	prospect jsonb  NOT NULL
);
CREATE TABLE IF NOT EXISTS leadkit_prospect_keys (
	key         text COLLATE "C" PRIMARY KEY,
	prospect_id text COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS leadkit_prospect_keys_prospect ON leadkit_prospect_keys (prospect_id);
CREATE TABLE IF NOT EXISTS leadkit_pool_marks (
	id   bytea PRIMARY KEY,
	hash bytea NOT NULL
);
