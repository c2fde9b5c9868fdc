package postgres_test

import (
	"fmt"
	"strings"

	"github.com/leadkit/leadkit/postgres"
)

// The schema's DDL for a table prefix, for a team that reviews it.
func ExampleSchema() {
	ddl, err := postgres.Schema("crm.leadkit_")
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(ddl, "\n") {
		if strings.HasPrefix(line, "CREATE TABLE") || strings.HasPrefix(line, "CREATE INDEX") || strings.HasPrefix(line, "-- 0") {
			fmt.Println(line)
		}
	}
	// Output:
	// -- 0001_stage.sql
	// CREATE TABLE IF NOT EXISTS crm.leadkit_stage_records (
	// CREATE TABLE IF NOT EXISTS crm.leadkit_stage_history (
	// CREATE INDEX IF NOT EXISTS leadkit_stage_records_stage ON crm.leadkit_stage_records (pipeline, stage);
	// -- 0002_journey.sql
	// CREATE TABLE IF NOT EXISTS crm.leadkit_events (
	// CREATE INDEX IF NOT EXISTS leadkit_events_lead_time ON crm.leadkit_events (lead_id, time, seq);
	// -- 0003_lead_states.sql
	// CREATE TABLE IF NOT EXISTS crm.leadkit_lead_states (
	// -- 0004_pool.sql
	// CREATE TABLE IF NOT EXISTS crm.leadkit_prospects (
	// CREATE TABLE IF NOT EXISTS crm.leadkit_prospect_keys (
	// CREATE INDEX IF NOT EXISTS leadkit_prospect_keys_prospect ON crm.leadkit_prospect_keys (prospect_id);
	// CREATE TABLE IF NOT EXISTS crm.leadkit_pool_marks (
	// -- 0005_tenants.sql
	// CREATE INDEX IF NOT EXISTS leadkit_events_lead_time ON crm.leadkit_events (tenant, lead_id, time, seq);
	// CREATE INDEX IF NOT EXISTS leadkit_prospect_keys_prospect ON crm.leadkit_prospect_keys (tenant, prospect_id);
}

// The grants an application role needs, for a team that runs its own
// migration tool.
func ExampleGrants() {
	sql, err := postgres.Grants("crm.leadkit_", "crm_app")
	if err != nil {
		panic(err)
	}
	fmt.Print(sql)
	// Output:
	// GRANT USAGE ON SCHEMA crm TO "crm_app";
	// GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE crm.leadkit_stage_records, crm.leadkit_stage_history, crm.leadkit_events, crm.leadkit_lead_states, crm.leadkit_prospects, crm.leadkit_prospect_keys, crm.leadkit_pool_marks TO "crm_app";
	// GRANT USAGE, SELECT ON SEQUENCE crm.leadkit_events_seq_seq TO "crm_app";
	// GRANT SELECT ON TABLE crm.leadkit_schema_migrations TO "crm_app";
	// DO $$BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %s', current_database(), '"crm_app"');
	// EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'leadkit: TEMPORARY not granted (the database owner may grant it)'; END$$;
}
