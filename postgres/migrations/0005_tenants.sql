-- Tenants: every row carries its tenant, every key starts with it, and
-- row-level security admits only the rows of the tenant named by the
-- session setting leadkit.tenant (which every store call sets, local to
-- its transaction). FORCE makes the policies bind the tables' owner too;
-- only superusers and roles with BYPASSRLS pass them (the stores also
-- filter by tenant themselves, so they stay correct there). Rows written
-- before this migration belong to the tenant "default". New rows take
-- their tenant from the setting: a write with none set fails.
ALTER TABLE leadkit_stage_records ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');
ALTER TABLE leadkit_stage_history ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');
ALTER TABLE leadkit_events        ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');
ALTER TABLE leadkit_lead_states   ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');
ALTER TABLE leadkit_prospects     ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');
ALTER TABLE leadkit_prospect_keys ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');
ALTER TABLE leadkit_pool_marks    ADD COLUMN IF NOT EXISTS tenant text COLLATE "C" NOT NULL DEFAULT 'default' CHECK (tenant <> '');

ALTER TABLE leadkit_stage_records ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');
ALTER TABLE leadkit_stage_history ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');
ALTER TABLE leadkit_events        ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');
ALTER TABLE leadkit_lead_states   ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');
ALTER TABLE leadkit_prospects     ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');
ALTER TABLE leadkit_prospect_keys ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');
ALTER TABLE leadkit_pool_marks    ALTER COLUMN tenant SET DEFAULT current_setting('leadkit.tenant');

-- Keys start with the tenant: the same IDs in two tenants are two rows.
ALTER TABLE leadkit_stage_records DROP CONSTRAINT IF EXISTS leadkit_stage_records_pkey, ADD CONSTRAINT leadkit_stage_records_pkey PRIMARY KEY (tenant, pipeline, kind, id);
ALTER TABLE leadkit_stage_history DROP CONSTRAINT IF EXISTS leadkit_stage_history_pkey, ADD CONSTRAINT leadkit_stage_history_pkey PRIMARY KEY (tenant, pipeline, kind, id, version);
ALTER TABLE leadkit_events        DROP CONSTRAINT IF EXISTS leadkit_events_pkey,        ADD CONSTRAINT leadkit_events_pkey        PRIMARY KEY (tenant, id);
ALTER TABLE leadkit_lead_states   DROP CONSTRAINT IF EXISTS leadkit_lead_states_pkey,   ADD CONSTRAINT leadkit_lead_states_pkey   PRIMARY KEY (tenant, lead_id);
ALTER TABLE leadkit_prospects     DROP CONSTRAINT IF EXISTS leadkit_prospects_pkey,     ADD CONSTRAINT leadkit_prospects_pkey     PRIMARY KEY (tenant, id);
ALTER TABLE leadkit_prospect_keys DROP CONSTRAINT IF EXISTS leadkit_prospect_keys_pkey, ADD CONSTRAINT leadkit_prospect_keys_pkey PRIMARY KEY (tenant, key);
ALTER TABLE leadkit_pool_marks    DROP CONSTRAINT IF EXISTS leadkit_pool_marks_pkey,    ADD CONSTRAINT leadkit_pool_marks_pkey    PRIMARY KEY (tenant, id);

-- No store reads records by stage, and on a table without statistics the
-- planner took this index over the key for one subject's record.
DROP INDEX IF EXISTS leadkit_stage_records_stage;
DROP INDEX IF EXISTS leadkit_events_lead_time;
CREATE INDEX IF NOT EXISTS leadkit_events_lead_time ON leadkit_events (tenant, lead_id, time, seq);
DROP INDEX IF EXISTS leadkit_prospect_keys_prospect;
CREATE INDEX IF NOT EXISTS leadkit_prospect_keys_prospect ON leadkit_prospect_keys (tenant, prospect_id);

ALTER TABLE leadkit_stage_records ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE leadkit_stage_history ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE leadkit_events        ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE leadkit_lead_states   ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE leadkit_prospects     ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE leadkit_prospect_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE leadkit_pool_marks    ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON leadkit_stage_records;
CREATE POLICY tenant_isolation ON leadkit_stage_records USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
DROP POLICY IF EXISTS tenant_isolation ON leadkit_stage_history;
CREATE POLICY tenant_isolation ON leadkit_stage_history USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
DROP POLICY IF EXISTS tenant_isolation ON leadkit_events;
CREATE POLICY tenant_isolation ON leadkit_events USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
DROP POLICY IF EXISTS tenant_isolation ON leadkit_lead_states;
CREATE POLICY tenant_isolation ON leadkit_lead_states USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
DROP POLICY IF EXISTS tenant_isolation ON leadkit_prospects;
CREATE POLICY tenant_isolation ON leadkit_prospects USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
DROP POLICY IF EXISTS tenant_isolation ON leadkit_prospect_keys;
CREATE POLICY tenant_isolation ON leadkit_prospect_keys USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
DROP POLICY IF EXISTS tenant_isolation ON leadkit_pool_marks;
CREATE POLICY tenant_isolation ON leadkit_pool_marks USING (tenant = current_setting('leadkit.tenant', true)) WITH CHECK (tenant = current_setting('leadkit.tenant', true));
