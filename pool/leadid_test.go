package pool_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

func TestLeadIDUnchecked(t *testing.T) {
	p, err := pool.New(pool.Options{LeadID: func(pool.Prospect) string { return "" }, NewID: func() string { return "p1" }})
	require.NoError(t, err)
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o", At: rt0, Identities: []pool.Identity{rem("a@x.co")}})
	require.NoError(t, err)
	g, ok, err := p.Qualify(rctx, pr.ID, rt0)
	assert.False(t, ok && g.LeadID == "", "graduated into a lead with no ID (err %v)", err)
	p2, _ := pool.New(pool.Options{LeadID: func(pool.Prospect) string { return strings.Repeat("\xff", 1<<20) }})
	pr, _, _ = p2.Upsert(rctx, pool.Observation{ID: "o", At: rt0, Identities: []pool.Identity{rem("a@x.co")}})
	_, ok, err = p2.Qualify(rctx, pr.ID, rt0.Add(time.Hour))
	assert.False(t, ok, "1 MiB invalid UTF-8 lead ID stored (err %v)", err)
}

func TestSubjectIdentity(t *testing.T) {
	id := pool.Normalize(pool.Subject, "Visitor-42", "")
	assert.Equal(t, pool.Identity{Kind: pool.Subject, Value: "Visitor-42"}, id, "a subject ID is kept exactly, case included")
	for _, v := range []string{" v1", "v1\t", ""} {
		assert.NotEmpty(t, pool.Normalize(pool.Subject, v, "").Invalid, "%q: a subject ID is never trimmed into another", v)
	}

	p, err := pool.New(pool.Options{NewID: func() string { return "p1" }})
	require.NoError(t, err)
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o1", At: rt0, Identities: []pool.Identity{{Kind: pool.Subject, Value: "S-7"}, rem("a@x.co")}})
	require.NoError(t, err)
	assert.Equal(t, "S-7", p.LeadID(pr), "the default lead ID of a subject is the subject")
	g, ok, err := p.Qualify(rctx, pr.ID, rt0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "S-7", g.LeadID)
	assert.Equal(t, "S-7", g.Lead.ID)

	// A second subject with the same e-mail is another lead to be: the
	// observation that would merge them is refused and changes nothing.
	_, _, err = p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0, Identities: []pool.Identity{{Kind: pool.Subject, Value: "S-8"}, rem("a@x.co")}})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "different subject IDs")
	got, err := p.Store().Get(rctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, pr.Identities, got.Identities)

	q, err := pool.New(pool.Options{NewID: func() string { return "p2" }})
	require.NoError(t, err)
	pr, _, err = q.Upsert(rctx, pool.Observation{ID: "o", At: rt0, Identities: []pool.Identity{rem("b@x.co")}})
	require.NoError(t, err)
	assert.Equal(t, "L-p2", q.LeadID(pr), "without a subject the lead ID is L- and the prospect ID")
}

// Profile fields keep their latest observation by time, whatever order the
// observations come in.
func TestProfileByObservationTime(t *testing.T) {
	p, err := pool.New(pool.Options{})
	require.NoError(t, err)
	id := []pool.Identity{rem("a@x.co")}
	_, _, err = p.Upsert(rctx, pool.Observation{ID: "new", At: rt0.Add(time.Hour), Identities: id, Person: leadkit.Person{Title: "VP"}})
	require.NoError(t, err)
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "old", At: rt0, Identities: id, Person: leadkit.Person{Title: "Analyst", City: "Lyon"}})
	require.NoError(t, err)
	assert.Equal(t, "VP", pr.Person.Title, "the older form does not overwrite the newer title")
	assert.Equal(t, "Lyon", pr.Person.City, "but fills what nothing newer set")
	assert.Equal(t, rt0.Add(time.Hour), pr.PersonStamps["title"])
}
