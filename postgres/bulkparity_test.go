package postgres_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
)

func regBatch(n int) []leadkit.Event {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	odd := map[string]any{
		"f":     0.1 + 0.2,
		"tiny":  5e-324,
		"huge":  math.MaxFloat64,
		"big":   int64(1<<53 + 1),
		"neg0":  math.Copysign(0, -1),
		"empty": []any{},
		"emap":  map[string]any{},
		"nil":   nil,
		"s":     "\u2028<&>\"\\ é 🙂",
		"t":     base.Add(123456789),
		"nest":  map[string]any{"l": []any{1, "x", []string{"a"}}},
		"u64":   uint64(math.MaxUint64),
	}
	var evs []leadkit.Event
	for i := 0; len(evs) < n; i++ {
		e := leadkit.Event{ID: fmt.Sprintf("z%05d", n-i), LeadID: fmt.Sprintf("L%d", i%7), Type: "page_view", Time: base}
		switch i % 5 {
		case 0:
			e.Attrs = odd
		case 1:
			e.ID = "dup" // the same ID with other content, many times
			e.Content = fmt.Sprint(i)
		case 2:
			e.Time = base.Add(time.Duration(i) * time.Microsecond)
		case 3:
			// Before 1970 and 2000, below a microsecond, not in UTC.
			e.Time = time.Date(1901, 2, 3, 4, 5, 6, 999, time.FixedZone("x", -3*3600)).Add(time.Duration(i) * 333 * time.Nanosecond)
		}
		if i%97 == 3 {
			e.Type = "" // invalid
		}
		evs = append(evs, e)
	}
	return evs
}

func timelines(t *testing.T, s journey.Store) map[string][]leadkit.Event {
	out := map[string][]leadkit.Event{}
	require.NoError(t, s.ForEach(context.Background(), func(tl journey.Timeline) error {
		out[tl.LeadID] = tl.Events
		return nil
	}))
	return out
}

// The chunked path and the COPY path against the memory store: the same
// count, the same error, the same timelines (order at one instant, first
// duplicate kept, attributes, times). A batch is appended alone, or after
// a part of it was stored (every third event, then every second: the
// bulk path leaves out the IDs the table holds). One event in 97 is
// invalid: batches of 2,020, 2,021 and 2,022 events hold 1,999, 2,000
// and 2,001 valid ones, around the bulk path's threshold.
func TestBulkPathParity(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		n      int
		before []int
	}{{n: 2020}, {n: 2021}, {n: 2022}, {n: 7000, before: []int{3, 2}}} {
		t.Run(fmt.Sprint(c.n), func(t *testing.T) {
			evs := regBatch(c.n)
			mem := journey.NewMemoryStore()
			pg := newJourneyStore(t)
			for _, every := range c.before {
				var part []leadkit.Event
				for i := 0; i < len(evs); i += every {
					part = append(part, evs[i])
				}
				mn, _ := mem.Append(ctx, part...)
				pn, _ := pg.Append(ctx, part...)
				require.Equal(t, mn, pn, "added before")
			}
			mn, merr := mem.Append(ctx, evs...)
			pn, perr := pg.Append(ctx, evs...)
			assert.Equal(t, mn, pn, "added")
			assert.Equal(t, merr != nil, perr != nil)
			if merr != nil && perr != nil {
				assert.Equal(t, len(merr.Error()), len(perr.Error())-len("postgres: append: ")+len("journey: append: "))
			}
			a, b := timelines(t, mem), timelines(t, pg)
			require.Equal(t, len(a), len(b))
			for lead := range a {
				if !reflect.DeepEqual(a[lead], b[lead]) {
					for i := range a[lead] {
						if i >= len(b[lead]) || !reflect.DeepEqual(a[lead][i], b[lead][i]) {
							t.Errorf("lead %s event %d:\n memory   %#v\n postgres %#v", lead, i, a[lead][i], b[lead][i])
							break
						}
					}
				}
			}
		})
	}
}
