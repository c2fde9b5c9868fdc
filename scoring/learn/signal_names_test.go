package learn_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring/learn"
)

// An event type named like a channel signal does not give two signals
// one name.
func TestTypeNamedLikeAChannelSignal(t *testing.T) {
	ex := history(600, 34)
	for i := 0; i < len(ex); i += 2 {
		ex[i].Events = append(ex[i].Events, leadkit.Event{ID: ex[i].Lead.ID + "-c", LeadID: ex[i].Lead.ID, Type: "channel:email", Time: cutOff.Add(-time.Hour)})
	}
	opts := smallOpts()
	opts.Signals = nil
	res, err := learn.Fit(ex, opts)
	require.NoError(t, err)
	requireClean(t, res)
}

// Event types with ">" in their names cannot make two features one name:
// the probe's rules are named by index, and a path named like an
// earlier feature is left out with a warning.
func TestPathNamesFromOddTypes(t *testing.T) {
	for _, types := range [][]string{{"a>b", "c", "a", "b>c"}, {"path:a>b", "a", "b ever"}} {
		var ex []learn.Example
		for i := range 400 {
			var ev []leadkit.Event
			for k, ty := range types {
				ev = append(ev, leadkit.Event{ID: strconv.Itoa(k), Type: ty, Time: cutOff.Add(-time.Duration(1+(i*7+k*13)%500) * time.Hour)})
			}
			ex = append(ex, learn.Example{Lead: leadkit.Lead{ID: strconv.Itoa(i)}, Events: ev, CutOff: cutOff, Converted: i%3 == 0})
		}
		res, err := learn.Fit(ex, learn.Options{Seed: 1})
		require.NoError(t, err, "%v", types)
		requireClean(t, res)
	}
}
