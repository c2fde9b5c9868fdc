package beam

import (
	"path/filepath"
	"testing"
	"time"

	abeam "github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func init() {
	register.Function2x0(oddZoneEvents)
}

// oddZoneEvents makes, on a worker, a valid event in a zone of
// -00:01:30 (as a source reading times in such a zone would).
func oddZoneEvents(_ []byte, emit func(leadkit.Event)) {
	emit(leadkit.Event{ID: "ok", LeadID: "a", Type: leadkit.EventPageView, Channel: "web", Time: edgeAt})
	emit(leadkit.Event{ID: "odd", LeadID: "a", Type: leadkit.EventPageView, Time: edgeAt.In(time.FixedZone("", -90))})
}

// On Prism: the valid event fails the pipeline in a coder (at build time,
// beam.Create of it panics).
func TestZoneOffsetsTravelOnPrism(t *testing.T) {
	e := leadkit.Event{ID: "odd", LeadID: "a", Type: leadkit.EventPageView, Time: edgeAt.In(time.FixedZone("", -90))}
	require.NoError(t, e.Validate())
	p, s := abeam.NewPipelineWithRoot()
	events := abeam.ParDo(s, oddZoneEvents, abeam.Impulse(s))
	dir := t.TempDir()
	tls, dead, err := Timelines(s, "acme", abeam.Reshuffle(s, events))
	require.NoError(t, err)
	WriteJSON(s, filepath.Join(dir, "dead.jsonl"), dead)
	WriteJSON(s, filepath.Join(dir, "tl.jsonl"), tls)
	require.NoError(t, ptest.Run(p), "a valid event never fails the pipeline")
}
