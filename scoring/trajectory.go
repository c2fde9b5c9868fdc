package scoring

import (
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// ScorePoint is one point of a lead's score trajectory: from Time on, the
// score is Score (until the next point).
type ScorePoint struct {
	Time  time.Time `json:"time"`
	Score float64   `json:"score"`
}

// Trajectory replays a lead's events up to in.AsOf (zero: now, see
// [Options].Now) and returns the named dimension's score right after each
// instant at which the lead had events (events at one instant count as one
// step), leaving out the instants where the score did not change: the
// trajectory a threshold recommendation reads
// ([github.com/leadkit/leadkit/scoring/learn.CapacityLead]). Changes
// between events (decay, an expiring window) are not sampled: a score
// that only decays reaches its highs at events, and [Model.Crossings]
// locates the crossings of one threshold exactly. Like Crossings it needs
// an incremental model.
func (m *Model) Trajectory(in Input, dimensionName string) ([]ScorePoint, error) {
	di := slices.IndexFunc(m.dims, func(d dimension) bool { return d.name == dimensionName })
	if di < 0 {
		return nil, fmt.Errorf("scoring: model %q: dimension %q: %w", m.spec.Name, text.Clip(dimensionName, 64), leadkit.ErrNotFound)
	}
	sc, order, asOf, err := m.replay(&in)
	if err != nil {
		return nil, err
	}
	defer m.put(sc)
	sc.c = m.ctx(&sc.lead, asOf)
	st := m.NewState()
	st.LeadID = in.Lead.ID
	var res Result
	var out []ScorePoint
	fitted := false
	for k, i := range order {
		ev := &in.Events[i]
		if ev.Time.After(asOf) {
			break
		}
		if err := m.apply(sc, &st, ev); err != nil {
			return nil, err
		}
		if k+1 < len(order) && in.Events[order[k+1]].Time.Equal(ev.Time) {
			continue
		}
		if err := m.readState(sc, &res, &st, ev.Time, !fitted || m.timeFit); err != nil {
			return nil, err
		}
		fitted = true
		v := res.Dimensions[di].Score
		if n := len(out); n > 0 && out[n-1].Score == v {
			continue
		}
		out = append(out, ScorePoint{Time: ev.Time.UTC(), Score: v})
	}
	return out, nil
}
