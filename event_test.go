package leadkit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventValidate(t *testing.T) {
	ok := leadkit.Event{ID: "e1", LeadID: "L1", Type: leadkit.EventDownload, Time: time.Unix(1, 0)}
	assert.NoError(t, ok.Validate())
	for field, mutate := range map[string]func(*leadkit.Event){
		"id":      func(e *leadkit.Event) { e.ID = "" },
		"lead_id": func(e *leadkit.Event) { e.LeadID = "" },
		"type":    func(e *leadkit.Event) { e.Type = "" },
		"time":    func(e *leadkit.Event) { e.Time = time.Time{} },
	} {
		e := ok
		mutate(&e)
		err := e.Validate()
		assert.ErrorIs(t, err, leadkit.ErrInvalid, field)
		assert.ErrorContains(t, err, "missing "+field)
	}
}

func ExampleEvent_Validate() {
	e := leadkit.Event{ID: "evt-1", LeadID: "L-7", Type: leadkit.EventWebinarAttended}
	err := e.Validate()
	fmt.Println(errors.Is(err, leadkit.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// leadkit: invalid input: event "evt-1": missing time
}

func TestValidTimeBounds(t *testing.T) {
	assert.True(t, leadkit.ValidTime(leadkit.MinTime))
	assert.False(t, leadkit.ValidTime(leadkit.MinTime.Add(-time.Nanosecond)))
	assert.True(t, leadkit.ValidTime(leadkit.MaxTime.Add(-time.Nanosecond)))
	assert.False(t, leadkit.ValidTime(leadkit.MaxTime))
	assert.False(t, leadkit.ValidTime(time.Time{}))
}

func TestEventCaps(t *testing.T) {
	ok := leadkit.Event{ID: "e1", LeadID: "L1", Type: "download", Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Attrs: map[string]any{"n": 3, "tags": []any{"a", 1.5, map[string]any{"x": true}}, "at": time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	require.NoError(t, ok.Validate())
	nested := map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": []any{1}}}}}
	for msg, mutate := range map[string]func(*leadkit.Event){
		"id is 257 bytes, the limit is 256":         func(e *leadkit.Event) { e.ID = strings.Repeat("i", 257) },
		"lead_id contains a NUL byte":               func(e *leadkit.Event) { e.LeadID = "a\x00" },
		"type is not valid UTF-8":                   func(e *leadkit.Event) { e.Type = "\xff" },
		"content is 4097 bytes":                     func(e *leadkit.Event) { e.Content = strings.Repeat("c", 4097) },
		"time -5000-01-01T00:00:00Z is outside":     func(e *leadkit.Event) { e.Time = time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"time 300000-01-01":                         func(e *leadkit.Event) { e.Time = time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC) },
		`attribute "n": NaN is not a finite number`: func(e *leadkit.Event) { e.Attrs = map[string]any{"n": math.NaN()} },
		"101 attributes, the limit is 100": func(e *leadkit.Event) {
			e.Attrs = map[string]any{}
			for i := 0; i <= leadkit.MaxAttrs; i++ {
				e.Attrs[fmt.Sprint(i)] = i
			}
		},
		"list has 1001 items":                 func(e *leadkit.Event) { e.Attrs = map[string]any{"l": make([]string, 1001)} },
		"nested more than 4 deep":             func(e *leadkit.Event) { e.Attrs = nested },
		"unsupported value of type struct {}": func(e *leadkit.Event) { e.Attrs = map[string]any{"s": struct{}{}} },
		"attribute with an empty name":        func(e *leadkit.Event) { e.Attrs = map[string]any{"": 1} },
		`attribute "s": is 4097 bytes`:        func(e *leadkit.Event) { e.Attrs = map[string]any{"s": strings.Repeat("s", 4097)} },
	} {
		e := ok
		mutate(&e)
		err := e.Validate()
		assert.ErrorIs(t, err, leadkit.ErrInvalid, msg)
		assert.ErrorContains(t, err, msg)
	}
}

func TestValidEvents(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	in := []leadkit.Event{{ID: "a", LeadID: "L", Type: "x", Time: at}, {ID: "b", LeadID: "L", Type: "x"}, {ID: "c", LeadID: "L", Type: "x", Time: at}}
	valid, err := leadkit.ValidEvents(in)
	assert.Equal(t, []leadkit.Event{in[0], in[2]}, valid)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, `event 1: leadkit: invalid input: event "b": missing time`)
	assert.EqualError(t, leadkit.ValidateEvents(in), `event 1: leadkit: invalid input: event "b": missing time`)
}

func TestSortEventsStable(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []leadkit.Event{{ID: "late", Time: at.Add(time.Hour)}, {ID: "a", Time: at}, {ID: "b", Time: at}}
	leadkit.SortEvents(evs)
	assert.Equal(t, []string{"a", "b", "late"}, []string{evs[0].ID, evs[1].ID, evs[2].ID})
}

// Every field within its cap still made events of gigabytes (70 attributes
// of 1,000 strings of 4 KiB stored 287 MB in memory and failed PostgreSQL
// with a raw jsonb error): the whole event is capped too.
func TestEventBytesCap(t *testing.T) {
	long := strings.Repeat("x", leadkit.MaxStringBytes)
	list := make([]string, leadkit.MaxListItems)
	for i := range list {
		list[i] = long
	}
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Attrs: map[string]any{}}
	for i := range 70 {
		e.Attrs[fmt.Sprintf("a%d", i)] = list
	}
	err := e.Validate()
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.ErrorContains(t, err, "the event is over 1048576 bytes")

	// Exactly at the cap passes; one byte more fails, however it is spread.
	// Fields count their bytes and the time 8; attribute names and strings
	// count as JSON writes them (quoted), the number and the list 8 each.
	fill := leadkit.MaxEventBytes - len("e") - len("l") - len("t") - 8 - (len("n") + 2) - 8 - (len("big") + 2) - 8
	var sizes []int
	for fill > 0 {
		n := min(fill-2, leadkit.MaxStringBytes)
		sizes = append(sizes, n)
		fill -= n + 2
	}
	if last := len(sizes) - 1; sizes[last] < 0 { // a remainder of one byte: move it to the first item
		sizes[0]--
		sizes[last] = 0
	}
	items := []any{}
	for _, n := range sizes {
		items = append(items, strings.Repeat("y", n))
	}
	e.Attrs = map[string]any{"n": 1, "big": items}
	require.NoError(t, e.Validate())
	e.Attrs["big"] = append(items, "z")
	assert.ErrorContains(t, e.Validate(), "the event is over")
}

// The cap counts attributes as a JSON store keeps them: lists of a
// thousand empty strings (shared, so tiny in memory) and strings of
// characters JSON escapes count what they take there, so an event under
// the cap is never gigabytes of JSON.
func TestEventBytesCountJSON(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	empties := make([]any, leadkit.MaxListItems)
	for i := range empties {
		empties[i] = ""
	}
	nested := make([]any, leadkit.MaxListItems)
	for i := range nested {
		nested[i] = empties // one list, a thousand times: 2 MB of JSON
	}
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: at, Attrs: map[string]any{"a": nested}}
	assert.ErrorContains(t, e.Validate(), "the event is over")

	ctl := strings.Repeat("\x01", leadkit.MaxStringBytes) // 6 bytes each in JSON
	e.Attrs = map[string]any{}
	for i := range 50 {
		e.Attrs[fmt.Sprintf("a%d", i)] = ctl
	}
	assert.ErrorContains(t, e.Validate(), "the event is over", "50 x 4096 control bytes are 1.2 MB of JSON")
	e.Attrs = map[string]any{"a": strings.Repeat("y", leadkit.MaxStringBytes)}
	for i := range 50 {
		e.Attrs[fmt.Sprintf("a%d", i)] = strings.Repeat("y", leadkit.MaxStringBytes)
	}
	assert.NoError(t, e.Validate(), "51 x 4096 plain bytes are 210 kB")
}

// CheckText's word-at-a-time pass answers as a byte-at-a-time check does,
// wherever in a string a NUL byte or a non-ASCII byte sits.
func TestCheckTextAgreesWithBytewise(t *testing.T) {
	bytewise := func(s string) string {
		if !utf8.ValidString(s) {
			return "is not valid UTF-8"
		}
		if strings.IndexByte(s, 0) >= 0 {
			return "contains a NUL byte"
		}
		return ""
	}
	base := "abcdefghijklmnopqrstuvwxyz0123456789"
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for _, bad := range []string{"\x00", "\xff", "é", "\x80", "\x01"} {
				s := base[:pos] + bad + base[pos:n]
				if s == "" {
					continue
				}
				assert.Equal(t, bytewise(s), leadkit.CheckText(s, 1000), "%q", s)
			}
		}
		assert.Equal(t, "", leadkit.CheckText(base[:n], 1000))
	}
}

func BenchmarkCheckText(b *testing.B) {
	ids := []string{"s0001234-17", "page_view", "webinar", "lead-0000000001234567", "a"}
	for b.Loop() {
		for _, s := range ids {
			if leadkit.CheckText(s, 256) != "" {
				b.Fatal(s)
			}
		}
	}
}

// A json.Number counts toward MaxEventBytes as its text (JSON writes it
// as it is): a thousand references to one number of 64 KB digits is an
// event of 64 MB, not of 8 KB (it once passed).
func TestEventSizeCountsNumberText(t *testing.T) {
	long := json.Number("1." + strings.Repeat("0", 64<<10))
	list := make([]any, leadkit.MaxListItems)
	for i := range list {
		list[i] = long
	}
	e := leadkit.Event{ID: "e", LeadID: "l", Type: "t", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Attrs: map[string]any{"n": list}}
	assert.ErrorContains(t, e.Validate(), "the event is over")
	e.Attrs = map[string]any{"n": json.Number("12")}
	assert.NoError(t, e.Validate(), "a short number counts 8")
}
