package stage

import (
	"time"

	"github.com/leadkit/leadkit"
)

func days(n int) time.Duration { return time.Duration(n) * leadkit.Day }

// Classic returns the classic lead lifecycle: Raw -> MQL -> SAL -> SQL ->
// Opportunity -> Won, with Lost, Disqualified and Recycled.
//
// Raw and Recycled leads qualify as MQL automatically when the fact `score`
// reaches 100 (facts: score number, grade string). Everything else is manual:
// accept (MQL -> SAL), qualify_sql (SAL -> SQL), create_opportunity
// (SQL -> Opportunity), win, lose (with a lost reason), recycle (MQL, SAL or
// SQL -> Recycled, with a reason), renurture (Lost -> Recycled) and
// disqualify (from any stage, with a reason). MQLs have a 2-day SLA for
// sales to accept them and SALs a 7-day SLA, with sub-statuses contacted and
// meeting_set.
//
// The result is a fresh value: change it freely, e.g. with InsertBetween.
func Classic() Definition {
	return Definition{
		Name:    "classic",
		Initial: "Raw",
		Facts:   map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "grade": leadkit.TypeString},
		Stages: []Stage{
			{Name: "Raw", Label: "Raw lead", Category: Marketing, Team: "marketing"},
			{Name: "MQL", Label: "Marketing Qualified Lead", Category: Marketing, Team: "marketing", SLA: days(2)},
			{Name: "SAL", Label: "Sales Accepted Lead", Category: Sales, Team: "sdr", SLA: days(7), SubStatuses: []string{"contacted", "meeting_set"}},
			{Name: "SQL", Label: "Sales Qualified Lead", Category: Sales, Team: "sales"},
			{Name: "Opportunity", Label: "Opportunity", Category: Sales, Team: "sales"},
			{Name: "Won", Label: "Closed won", Category: Customer, Team: "sales", Terminal: true},
			{Name: "Lost", Label: "Closed lost", Category: Closed, Team: "sales"},
			{Name: "Disqualified", Label: "Disqualified", Category: Closed, Terminal: true},
			{Name: "Recycled", Label: "Recycled", Category: Recycled, Team: "marketing"},
		},
		Transitions: []Transition{
			{Name: "qualify", From: []string{"Raw", "Recycled"}, To: "MQL", Auto: true, Guard: "score >= 100", ForwardOnly: true},
			{Name: "accept", From: []string{"MQL"}, To: "SAL"},
			{Name: "qualify_sql", From: []string{"SAL"}, To: "SQL"},
			{Name: "create_opportunity", From: []string{"SQL"}, To: "Opportunity"},
			{Name: "win", From: []string{"Opportunity"}, To: "Won"},
			{Name: "lose", From: []string{"Opportunity"}, To: "Lost", Reasons: []string{"price", "competitor", "no_decision", "timing", "other"}},
			{Name: "recycle", From: []string{"MQL", "SAL", "SQL"}, To: "Recycled", Reasons: []string{"no_response", "not_ready", "no_budget", "timing"}},
			{Name: "renurture", From: []string{"Lost"}, To: "Recycled"},
			{Name: "disqualify", From: []string{"*"}, To: "Disqualified", Reasons: disqualifyReasons()},
		},
	}
}

func disqualifyReasons() []string {
	return []string{"competitor", "student", "spam", "duplicate", "bad_data", "not_icp"}
}

// Waterfall returns the 12-stage Forrester/SiriusDecisions demand waterfall:
// MAL -> MQL -> SAL -> SQL -> TSM -> SAO -> LSO -> Account, with the recycle
// loops through SRL (sales recycled lead) and MRL (marketing recycled lead),
// Churned and Disqualified. Labels follow the model: MAL is the Marketing
// Acquired Lead (a name acquired by enrichment, prospecting or a list
// purchase, not yet engaged), TSM the Tele-Sales Meeting (a meeting set by
// tele-sales or SDRs), SAO the Sales Accepted Opportunity and LSO the Late
// Stage Opportunity.
//
// MAL and MRL leads qualify as MQL automatically when `score` reaches 100.
// Sales can send any sales-stage lead to SRL (sales_recycle, with a reason),
// then rework it (SRL -> SAL) or hand it back to marketing (SRL -> MRL,
// nurture). MQLs that sales rejects go to MRL. Customers can churn, and
// churned accounts go back to nurturing (renurture: Churned -> MRL).
// Labels are editable.
func Waterfall() Definition {
	sales := []string{"SAL", "SQL", "TSM", "SAO", "LSO"}
	return Definition{
		Name:    "waterfall",
		Initial: "MAL",
		Facts:   map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "grade": leadkit.TypeString},
		Stages: []Stage{
			{Name: "MAL", Label: "Marketing Acquired Lead", Category: Marketing, Team: "marketing"},
			{Name: "MQL", Label: "Marketing Qualified Lead", Category: Marketing, Team: "marketing", SLA: days(2)},
			{Name: "SAL", Label: "Sales Accepted Lead", Category: Sales, Team: "sdr", SLA: days(7), SubStatuses: []string{"contacted", "meeting_set"}},
			{Name: "SQL", Label: "Sales Qualified Lead", Category: Sales, Team: "sales"},
			{Name: "TSM", Label: "Tele-Sales Meeting", Category: Sales, Team: "sales"},
			{Name: "SAO", Label: "Sales Accepted Opportunity", Category: Sales, Team: "sales"},
			{Name: "LSO", Label: "Late Stage Opportunity", Category: Sales, Team: "sales"},
			{Name: "Account", Label: "Account (won)", Category: Customer, Team: "customer_success"},
			{Name: "SRL", Label: "Sales Recycled Lead", Category: Recycled, Team: "sales"},
			{Name: "MRL", Label: "Marketing Recycled Lead", Category: Recycled, Team: "marketing"},
			{Name: "Churned", Label: "Churned", Category: Closed, Team: "customer_success"},
			{Name: "Disqualified", Label: "Disqualified", Category: Closed, Terminal: true},
		},
		Transitions: []Transition{
			{Name: "qualify", From: []string{"MAL", "MRL"}, To: "MQL", Auto: true, Guard: "score >= 100", ForwardOnly: true},
			{Name: "accept", From: []string{"MQL"}, To: "SAL"},
			{Name: "reject", From: []string{"MQL"}, To: "MRL", Reasons: []string{"not_ready", "bad_fit", "no_response"}},
			{Name: "qualify_sql", From: []string{"SAL"}, To: "SQL"},
			{Name: "meet", From: []string{"SQL"}, To: "TSM"},
			{Name: "accept_opportunity", From: []string{"TSM"}, To: "SAO"},
			{Name: "advance_opportunity", From: []string{"SAO"}, To: "LSO"},
			{Name: "win", From: []string{"LSO"}, To: "Account"},
			{Name: "sales_recycle", From: sales, To: "SRL", Reasons: []string{"no_response", "not_ready", "no_budget", "timing", "lost"}},
			{Name: "rework", From: []string{"SRL"}, To: "SAL"},
			{Name: "nurture", From: []string{"SRL"}, To: "MRL"},
			{Name: "churn", From: []string{"Account"}, To: "Churned", Reasons: []string{"price", "product", "competitor", "business_closed"}},
			{Name: "renurture", From: []string{"Churned"}, To: "MRL"},
			{Name: "disqualify", From: []string{"*"}, To: "Disqualified", Reasons: disqualifyReasons()},
		},
	}
}
