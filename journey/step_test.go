package journey

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

// stepErrors returns the *StepError problems of a CompileFunnel error.
func stepErrors(t *testing.T, err error) []*StepError {
	t.Helper()
	require.Error(t, err)
	var out []*StepError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *StepError
		if errors.As(e, &se) {
			out = append(out, se)
		}
	}
	return out
}

// The step predicates speak leadkit's one expression language: the names
// of stage guards and scoring rules (event.channel), declared attributes
// (event.<key>), and hints for the old names.
func TestStepWhenDialect(t *testing.T) {
	ev := func(id, typ, channel string, attrs map[string]any) leadkit.Event {
		return leadkit.Event{ID: id, LeadID: "l", Type: typ, Channel: channel, Time: day(0), Attrs: attrs}
	}
	spec := FunnelSpec{
		Steps: []Step{
			{Name: "webinar", When: `event.channel == "webinar"`},
			{Name: "topic", Types: []string{"download"}, When: `event.topic == "ai" && "cfo" in event.roles && event.type != event.id`},
		},
		Fields: []leadkit.FieldSpec{{Name: "event.topic", Type: leadkit.TypeString}, {Name: "event.roles", Type: leadkit.TypeStrings}},
	}
	r, err := Funnel(spec, []Timeline{
		{LeadID: "l1", Events: []leadkit.Event{ev("1", "visit", "webinar", nil), ev("2", "download", "web", map[string]any{"topic": "ai", "roles": []any{"cfo"}})}},
		{LeadID: "l2", Events: []leadkit.Event{ev("1", "visit", "web", nil)}},
		{LeadID: "l3", Events: []leadkit.Event{ev("1", "visit", "webinar", nil), ev("2", "download", "web", map[string]any{"topic": "ml", "roles": []string{"cfo"}})}},
	})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1}, counts(r))

	cases := []struct {
		name, when string
		col        int
		want       string
	}{
		{"old name", `Channel == "webinar"`, 1, "unknown name Channel: the name is now event.channel"},
		{"old attributes", `Attrs["pages"] > 10`, 1, `event attributes are read as event.pages after declaring them: declare it in the funnel's fields: {"name": "event.pages"`},
		{"undeclared attribute", `event.topic == "ai"`, 7, `event has no field topic: undeclared field: declare it in the funnel's fields: {"name": "event.topic", "type": "string"}`},
		{"no as-of time: age", `event.age_days < 3`, 7, "event.age_days is not available: funnel steps have no as-of time"},
		{"no as-of time: daysSince", `daysSince(event.time) < 3`, 1, "daysSince is not available: funnel steps have no as-of time"},
		{"columns in runes", `event.content == "日本語" && event.nope == 1`, 33, "event has no field nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileFunnel(FunnelSpec{Steps: []Step{{Name: "s", Types: []string{"a"}, When: c.when}}})
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			ses := stepErrors(t, err)
			require.Len(t, ses, 1)
			assert.Equal(t, "when", ses[0].Field)
			assert.Contains(t, ses[0].Error(), c.want)
			assert.Equal(t, 1, ses[0].Line)
			assert.Equal(t, c.col, ses[0].Column)
		})
	}
}

// Every predicate has a compile-time bound on its worst-case work per
// event, alone and together with the other predicates the same event
// runs; a value over the caps fails that one event at run time.
func TestStepWhenLimits(t *testing.T) {
	list := []leadkit.FieldSpec{{Name: "event.list", Type: leadkit.TypeStrings}}
	t.Run("nested list walk", func(t *testing.T) {
		_, err := CompileFunnel(FunnelSpec{Fields: list, Steps: []Step{
			{Name: "s", Types: []string{"a"}, When: `all(event.list, all(event.list, # != "x"))`},
		}})
		ses := stepErrors(t, err)
		require.Len(t, ses, 1)
		assert.Equal(t, "when", ses[0].Field)
		assert.Contains(t, ses[0].Error(), "journey.MaxEventCost")
	})
	t.Run("time zone", func(t *testing.T) {
		_, err := CompileFunnel(FunnelSpec{Steps: []Step{
			{Name: "s", Types: []string{"a"}, When: `event.time.Local().Format("MST") == "JST"`},
		}})
		ses := stepErrors(t, err)
		require.Len(t, ses, 1)
		assert.Contains(t, ses[0].Error(), "method calls are not allowed")
	})
	// One list walk costs a little over a quarter of the limit: three
	// steps that one event type can match fit, five do not, and five on
	// different types do.
	walk := func(n int, types func(i int) []string) FunnelSpec {
		s := FunnelSpec{Fields: list}
		for i := range n {
			s.Steps = append(s.Steps, Step{Name: fmt.Sprint(i), Types: types(i), When: fmt.Sprintf(`any(event.list, # == "%d")`, i)})
		}
		return s
	}
	same := func(int) []string { return []string{"download"} }
	_, err := CompileFunnel(walk(3, same))
	require.NoError(t, err)
	_, err = CompileFunnel(walk(5, same))
	require.Error(t, err)
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Empty(t, stepErrors(t, err), "a funnel-wide problem")
	assert.Contains(t, err.Error(), `journey: funnel: leadkit: invalid input: the when predicates an event of type "download" runs (steps 1 "0", 2 "1", 3 "2", 4 "3", 5 "4")`)
	assert.Contains(t, err.Error(), "the limit (journey.MaxEventCost, per event) is 20000")
	_, err = CompileFunnel(walk(5, func(i int) []string { return []string{fmt.Sprint("t", i)} }))
	require.NoError(t, err, "different types: one event runs one predicate")
	// A step without types adds its predicate to every event's.
	_, err = CompileFunnel(walk(6, func(i int) []string {
		if i == 0 {
			return nil
		}
		return []string{fmt.Sprint("t", i%2)}
	}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `an event of type "t1" runs (steps 1 "0", 2 "1", 4 "3", 6 "5")`)

	t.Run("list over the cap", func(t *testing.T) {
		spec := FunnelSpec{Fields: list, Steps: []Step{
			{Name: "a", Types: []string{"a"}, When: `any(event.list, # == "x")`},
			{Name: "b", Types: []string{"b"}},
		}}
		long := make([]string, leadkit.MaxListItems+1)
		long[0] = "x"
		tls := []Timeline{
			{LeadID: "l1", Events: []leadkit.Event{
				{ID: "long", Type: "a", Time: day(0), Attrs: map[string]any{"list": long}},
				{ID: "ok", Type: "a", Time: day(1), Attrs: map[string]any{"list": []string{"x"}}},
				{ID: "b", Type: "b", Time: day(2)},
			}},
			{LeadID: "l2", Events: []leadkit.Event{
				{ID: "long", Type: "a", Time: day(0), Attrs: map[string]any{"list": long}},
				{ID: "b", Type: "b", Time: day(2)},
			}},
			{LeadID: "l3", Events: []leadkit.Event{
				{ID: "ok", Type: "a", Time: day(0), Attrs: map[string]any{"list": []string{"x"}}},
				{ID: "b", Type: "b", Time: day(3)},
			}},
		}
		r, err := Funnel(spec, tls)
		require.Error(t, err)
		assert.ErrorIs(t, err, leadkit.ErrInvalid)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 2, "one line per bad event")
		for i, lead := range []string{"l1", "l2"} {
			assert.Contains(t, lines[i], fmt.Sprintf(`journey: lead %q: event "long": step "a": when: leadkit: invalid input: event.list: list has 1001 items, the limit is 1000`, lead))
		}
		// l1 and l2 are refused whole (l1 not even through its good
		// event); l3 counts.
		assert.Equal(t, 1, r.Leads)
		assert.Equal(t, []int{1, 1}, counts(r))
		assert.Equal(t, ldays(3), r.Steps[1].MedianTime)
	})
}

// A When failing on an event refuses the lead's timeline as a whole: the
// event does not count for the steps without a When either, and the lead's
// other events do not count.
func TestStepWhenBadEventRefusesLead(t *testing.T) {
	spec := FunnelSpec{Order: Strict, Fields: []leadkit.FieldSpec{{Name: "event.n", Type: leadkit.TypeNumber}}, Steps: []Step{
		{Name: "a", Types: []string{"a"}},
		{Name: "b", Types: []string{"b"}},
		{Name: "b and big", Types: []string{"b"}, When: `event.n > 3`},
	}}
	r, err := Funnel(spec, []Timeline{{LeadID: "l", Events: []leadkit.Event{
		{ID: "a", Type: "a", Time: day(0)},
		{ID: "bad", Type: "b", Time: day(1), Attrs: map[string]any{"n": "many"}},
		{ID: "b", Type: "b", Time: day(2), Attrs: map[string]any{"n": 1}},
		{ID: "big", Type: "b", Time: day(3), Attrs: map[string]any{"n": 5}},
	}}, {LeadID: "m", Events: []leadkit.Event{
		{ID: "a", Type: "a", Time: day(0)},
		{ID: "b", Type: "b", Time: day(2), Attrs: map[string]any{"n": 1}},
	}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `journey: lead "l": event "bad": step "b and big": when: leadkit: invalid input: event.n:`)
	assert.Equal(t, 1, r.Leads, "l refused, m counted")
	assert.Equal(t, []int{1, 1, 0}, counts(r))
	assert.Equal(t, ldays(2), r.Steps[1].MedianTime)
}

// The caps of a funnel, with what and where in the error.
func TestCompileFunnelCaps(t *testing.T) {
	long := strings.Repeat("x", leadkit.MaxNameBytes+1)
	manyTypes := make([]string, MaxTypesPerStep+1)
	for i := range manyTypes {
		manyTypes[i] = fmt.Sprint("t", i)
	}
	manyFields := make([]leadkit.FieldSpec, MaxFields+1)
	for i := range manyFields {
		manyFields[i] = leadkit.FieldSpec{Name: fmt.Sprint("event.f", i), Type: leadkit.TypeString}
	}
	cases := []struct {
		name string
		spec FunnelSpec
		want string
	}{
		{"long name", FunnelSpec{Steps: []Step{{Name: long, Types: []string{"a"}}}}, `step 1 "xxxxxxxx`},
		{"long name message", FunnelSpec{Steps: []Step{{Name: long, Types: []string{"a"}}}}, `...": name: name is 257 bytes, the limit is 256`},
		{"name with NUL", FunnelSpec{Steps: []Step{{Name: "a", Types: []string{"a"}}, {Name: "b\x00", Types: []string{"a"}}}}, `step 2 "b\x00": name: name contains a NUL byte`},
		{"name invalid", FunnelSpec{Steps: []Step{{Name: "\xff", Types: []string{"a"}}}}, `step 1 "\xff": name: name is not valid UTF-8`},
		{"too many types", FunnelSpec{Steps: []Step{{Name: "s", Types: manyTypes}}}, `step 1 "s": types: 101 types, at most 100 allowed`},
		{"long type", FunnelSpec{Steps: []Step{{Name: "s", Types: []string{"a", long}}}}, `step 1 "s": types: type 2 "xxxx`},
		{"type with NUL", FunnelSpec{Steps: []Step{{Name: "s", Types: []string{"a\x00"}}}}, `step 1 "s": types: type 1 "a\x00": contains a NUL byte`},
		{"too many fields", FunnelSpec{Steps: steps("a"), Fields: manyFields}, "journey: funnel: leadkit: invalid input: fields: 101 declared, at most 100 allowed"},
		{"bad field", FunnelSpec{Steps: steps("a"), Fields: []leadkit.FieldSpec{{Name: "topic", Type: leadkit.TypeString}}},
			`journey: funnel: leadkit: invalid input: fields: field 1 "topic": name must be "event.<key>"`},
		{"field type", FunnelSpec{Steps: steps("a"), Fields: []leadkit.FieldSpec{{Name: "event.t", Type: "text"}}}, `fields: field 1 "event.t": type "text"`},
		{"built-in field", FunnelSpec{Steps: steps("a"), Fields: []leadkit.FieldSpec{{Name: "event.channel", Type: leadkit.TypeString}}}, "declared twice or a built-in field"},
		{"long expression", FunnelSpec{Steps: []Step{{Name: "s", Types: []string{"a"}, When: strings.Repeat(`event.type == "a" || `, 300) + "true"}}},
			fmt.Sprintf(`step 1 "s": when: expression is %d bytes long, the limit is 4096`, 300*len(`event.type == "a" || `)+4)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileFunnel(c.spec)
			require.Error(t, err)
			assert.ErrorIs(t, err, leadkit.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
			assert.Less(t, len(err.Error()), 600, "long inputs are clipped in the message")
		})
	}
}

// The accumulator evaluates step predicates without allocating.
func TestFunnelAccumulatorWhenAllocs(t *testing.T) {
	f, err := CompileFunnel(FunnelSpec{
		Fields: []leadkit.FieldSpec{{Name: "event.pages", Type: leadkit.TypeNumber}},
		Steps: []Step{
			{Name: "a", Types: []string{"a"}, When: `event.channel == "web" && event.pages > 3`},
			{Name: "b", Types: []string{"b"}},
		},
	})
	require.NoError(t, err)
	lead := Timeline{LeadID: "l", Events: []leadkit.Event{
		{ID: "1", Type: "a", Channel: "web", Time: day(0), Attrs: map[string]any{"pages": 5}},
		{ID: "2", Type: "a", Channel: "paid", Time: day(1), Attrs: map[string]any{"pages": 5}},
		{ID: "3", Type: "c", Time: day(2)},
	}}
	acc := f.NewAccumulator()
	require.NoError(t, acc.Add(lead))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = acc.Add(lead) }))
	assert.Equal(t, []int{102, 0}, counts(acc.Result()), "AllocsPerRun runs once more to warm up")
}
