package scoring_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/scoringtest"
)

// The default model compiles, keeps states, and scores the leads its
// comments describe as they say.
func TestDefaultModel(t *testing.T) {
	m, err := scoring.Compile(scoring.Default(), scoring.Options{})
	require.NoError(t, err)
	_, err = m.StateOf(scoring.Input{Lead: leadkit.Lead{ID: "l"}, AsOf: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err, "the default model keeps incremental states")

	asOf := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	vp := leadkit.Lead{Person: leadkit.Person{Seniority: "vp", Department: "marketing", Email: "ana@acme.example"}, Company: leadkit.Company{Employees: 5000}}
	student := leadkit.Lead{Person: leadkit.Person{Title: "Student", Email: "bo@gmail.com"}}
	scoringtest.Run(t, m, []scoringtest.Case{
		{Name: "a VP of a large company's marketing is a full fit, and not yet an MQL without engagement",
			Lead: vp, AsOf: asOf, Scores: map[string]float64{"fit": 55, "engagement": -10}, Bands: map[string]string{"fit": "A"},
			Fired: []string{"executive", "enterprise", "buying department", "inactive 90 days"}, NotReached: []string{"mql"}},
		{Name: "the fit's floor holds a student on free mail at -30",
			Lead: student, AsOf: asOf, Scores: map[string]float64{"fit": -30}, Bands: map[string]string{"fit": "D"}, Fired: []string{"free mail", "student or job seeker"}},
		{Name: "a good fit who attends a webinar, downloads twice and meets sales is an MQL in the A1 cell",
			Lead: vp, AsOf: asOf, Events: scoringtest.Events(asOf, "webinar_attended@-3d", "download@-2d", "download@-1d", "meeting@-1h"),
			Reached: []string{"mql"}, Cell: "A1", NotFired: []string{"inactive 90 days"}},
		{Name: "page views count at most five a day (ten points), and seven in a week are a research burst",
			Lead: leadkit.Lead{}, AsOf: asOf, Events: scoringtest.Events(asOf, "page_view@-2h", "page_view@-2h", "page_view@-2h", "page_view@-2h", "page_view@-2h", "page_view@-2h", "page_view@-2h"),
			Fired: []string{"page view", "research burst"}, Scores: map[string]float64{"engagement": 5*2 + 10}, Tolerance: 0.05},
	}...)
	assert.Contains(t, string(scoring.DefaultModelYAML()), "# Buying power")
}
