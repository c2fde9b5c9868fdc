package scoring

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collidingEvents returns n download events, one a second before asOf0,
// whose IDs differ only in their middle bytes: the same length, first 8
// and last 8 bytes, so they all collide under the quick hash.
func collidingEvents(n int) []leadkit.Event {
	evs := make([]leadkit.Event, n)
	for i := range evs {
		evs[i] = leadkit.Event{ID: fmt.Sprintf("evt-id--%08d--suffix!", i), Type: "download", Time: asOf0.Add(-time.Duration(n-i) * time.Second)}
	}
	return evs
}

// Hostile IDs that all collide under the quick hash: the check falls back
// to the full hash within its probe budget, so its work stays linear
// (counted in probes, each at most one ID comparison), and a repeated ID
// still counts once, at its first occurrence.
func TestRepeatedIDsCollidingUnderQuickHash(t *testing.T) {
	const n = MaxEvents
	evs := collidingEvents(n)
	require.Equal(t, quickHash(evs[0].ID), quickHash(evs[n-1].ID), "the IDs collide under the quick hash")
	require.NotEqual(t, idHash(evs[0].ID), idHash(evs[n-1].ID), "but not under the full hash")
	evs[n-1].ID = evs[7].ID // a repeat, far from its first occurrence

	m := mustCompile(t, behSpec(BehaviorRule{Name: "dl", Types: []string{"download"}, Points: 1}))
	sc := m.get()
	defer m.put(sc)
	asGiven, err := m.checkEvents(sc, "l1", evs)
	require.NoError(t, err)
	assert.False(t, asGiven)
	// Inserting k colliding IDs one by one would take k²/2 probes (5e9
	// for 1e5 IDs); the budget stops the quick hash at 4n+64, and the
	// full hash needs about 1.5n.
	assert.Less(t, sc.idProbes, 8*n, "probes")
	require.Len(t, sc.order, n-1)
	assert.Equal(t, int32(7), sc.order[7], "the first occurrence is kept")
	assert.Equal(t, int32(n-2), sc.order[n-2], "the repeat is dropped")

	r := score(t, m, leadkit.Lead{ID: "l1"}, evs...)
	assert.Equal(t, float64(n-1), dim(t, r, "engagement").Score)
}

// Ordinary IDs (the benchmark's "lead-N-eK") stay within the quick hash's
// budget: the full hash is not needed.
func TestQuickIDHashSuffices(t *testing.T) {
	m := benchModel(t)
	sc := m.get()
	defer m.put(sc)
	for _, in := range benchInputs(t, 200, 3) {
		_, err := m.checkEvents(sc, in.Lead.ID, in.Events)
		require.NoError(t, err)
		assert.Less(t, sc.idProbes, idBudget(len(in.Events)), in.Lead.ID)
	}
}

// Short IDs are hashed whole by the quick hash: IDs of up to 16 bytes that
// differ anywhere hash apart (with the per-process seed).
func TestQuickHashCoversShortIDs(t *testing.T) {
	seen := map[uint64]string{}
	for n := 0; n <= 16; n++ {
		base := []byte("abcdefghijklmnop"[:n])
		ids := []string{string(base)}
		for i := range base {
			b := append([]byte(nil), base...)
			b[i] ^= 1
			ids = append(ids, string(b))
		}
		for _, id := range ids {
			h := quickHash(id)
			if prev, ok := seen[h]; ok {
				assert.Equal(t, prev, id, "hash collision")
			}
			seen[h] = id
		}
	}
}

// BenchmarkCollidingIDs checks 100,000 events whose IDs collide under the
// quick hash (one op is one event): linear work, like ordinary IDs.
func BenchmarkCollidingIDs(b *testing.B) {
	m := benchModel(b)
	sc := m.get()
	defer m.put(sc)
	for _, name := range []string{"colliding", "ordinary"} {
		evs := collidingEvents(MaxEvents)
		if name == "ordinary" {
			for i := range evs {
				evs[i].ID = fmt.Sprintf("evt-%d", i)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i += len(evs) {
				if _, err := m.checkEvents(sc, "l1", evs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sameBytes (the event-type lookup's comparison) agrees with == for
// every length and every differing position.
func TestSameBytes(t *testing.T) {
	for n := 0; n <= 40; n++ {
		a := []byte("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"[:n])
		assert.True(t, sameBytes(string(a), string(a)), "length %d", n)
		for i := range a {
			b := append([]byte(nil), a...)
			b[i] ^= 0x20
			assert.False(t, sameBytes(string(a), string(b)), "length %d, byte %d", n, i)
		}
	}
}
