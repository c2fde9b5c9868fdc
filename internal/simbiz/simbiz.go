// Package simbiz holds the rules leadkit's own programs run the simulated
// business of package sim with (the lifecycle and report examples, the
// lifecycle benchmark): one home for its lead definition and scoring
// model, as the text a user would keep in files, and of the Classic
// transitions its sales decisions are. It imports only package sim.
package simbiz

import "github.com/leadkit/leadkit/sim"

// SalesMoves maps the simulator's sales stage changes to the
// stage.Classic transitions that make them (a change to MQL is the
// engine's, by the automatic transition qualify).
var SalesMoves = map[string]string{
	sim.StageSAL:         "accept",
	sim.StageSQL:         "qualify_sql",
	sim.StageOpportunity: "create_opportunity",
	sim.StageWon:         "win",
	sim.StageLost:        "lose",
	sim.StageRecycled:    "recycle",
}

// Policy is the lead definition: a prospect becomes a lead once the pool
// knows a business e-mail for it (a webinar sign-up, a download form, a
// badge scan), after two touches in 90 days, or when it asks for sales
// (the observation of a hand-raise tags it "hand_raiser").
const Policy = `
conditions:
  - {name: known or engaged or asking, when: 'prospect.business_email || prospect.touches_90d >= 2 || "hand_raiser" in prospect.tags'}
`

// HandRaiserTag is the prospect tag the observation of a hand-raise
// carries.
const HandRaiserTag = "hand_raiser"

// Model is the scoring model, written for the simulator's channels and
// event types: fit from seniority and company size (the profile the pool
// learnt), engagement from the marketing touches, intent from the
// hand-raise (a demo request). A lead is an MQL at 100: fit and
// engagement alone stay below it (at most 55 + 40), so marketing passes
// on hand-raisers, as most B2B teams do, and the score ranks them. Sales
// activity (SDR calls, follow-ups, meetings, deals) scores nothing: it
// follows the MQL.
const Model = `
name: sim-b2b
dimensions:
  - name: fit
    bands: [{name: A, min: 40}, {name: B, min: 20}, {name: C}]
    fit:
      - {name: executive, when: 'person.seniority in ["vp", "c_level"]', points: 30}
      - {name: director, when: 'person.seniority == "director"', points: 20}
      - {name: manager, when: 'person.seniority == "manager"', points: 10}
      - {name: enterprise, when: 'company.employees >= 1000', points: 25}
      - {name: mid-market, when: 'company.employees >= 250 && company.employees < 1000', points: 15}
      - {name: smb, when: 'company.employees >= 50 && company.employees < 250', points: 5}
  - name: engagement
    max: 40
    behavior:
      - {name: page view, types: [page_view], points: 2, cap: 10}
      - {name: form, types: [form_submitted], points: 5}
      - {name: email open, types: [email_opened], points: 1, cap: 5}
      - {name: email click, types: [email_clicked], points: 3}
      - {name: download, types: [download], points: 8}
      - {name: webinar sign-up, types: [webinar_registered], points: 4}
      - {name: webinar, types: [webinar_attended], points: 10}
      - {name: offline event, types: [offline_event], points: 12}
  - name: intent
    behavior:
      - {name: demo request, types: [demo_requested], points: 100, cap: 100}
  - name: total
    expr: fit + engagement + intent
thresholds: [{name: mql, dimension: total, value: 100}]
`

// Facts maps the facts stage.Classic's transitions read to the model's:
// the lead score is the model's total, the grade its fit band
// (lifecycle.Options.Facts).
var Facts = map[string]string{"score": "total", "grade": "fit_band"}
