package stage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
)

// Category groups stages by who works the lead and what it means for the
// funnel.
type Category string

// The stage categories.
const (
	Pool      Category = "pool"      // known prospects that are not leads yet
	Marketing Category = "marketing" // leads marketing works (Raw, MAL, MQL)
	Sales     Category = "sales"     // leads sales works (SAL, SQL, Opportunity)
	Customer  Category = "customer"  // won accounts
	Recycled  Category = "recycled"  // sent back to nurturing
	Closed    Category = "closed"    // lost, disqualified, churned
)

func (c Category) valid() bool {
	switch c {
	case "", Pool, Marketing, Sales, Customer, Recycled, Closed:
		return true
	}
	return false
}

// Stage is one stage of a pipeline.
type Stage struct {
	// Name identifies the stage in transitions, records and histories.
	Name string `json:"name"`
	// Label is the human name shown in reports and diagrams (default Name).
	Label string `json:"label,omitempty"`
	// Category is pool, marketing, sales, customer, recycled or closed.
	Category Category `json:"category,omitempty"`
	// Team is the team that owns leads in this stage (e.g. "sdr").
	Team string `json:"team,omitempty"`
	// Terminal stages have no outgoing transitions (Won, Disqualified).
	Terminal bool `json:"terminal,omitempty"`
	// SLA is the longest a lead should stay in this stage; zero means none.
	// In JSON and YAML it is a duration such as "48h", "3d" or "2w" (see
	// [leadkit.ParseDuration]).
	SLA time.Duration `json:"sla,omitempty"`
	// SubStatuses are the allowed sub-statuses within the stage, e.g. SAL:
	// "contacted", "meeting_set". Empty means the stage has none.
	SubStatuses []string `json:"sub_statuses,omitempty"`
}

// Transition is an allowed move between stages.
//
// A manual transition is fired by name with Machine.Fire. An automatic one
// (Auto) is taken by Machine.Advance when its Guard holds on the facts the
// caller supplies. A manual transition may have a guard too; it must then
// hold for Fire to succeed.
type Transition struct {
	// Name identifies the transition, e.g. "qualify", "accept", "recycle".
	Name string `json:"name"`
	// From lists the stages it leaves from; "*" means every non-terminal stage.
	From []string `json:"from"`
	// To is the target stage.
	To string `json:"to"`
	// Auto marks an automatic transition, taken by Advance. It needs a Guard.
	Auto bool `json:"auto,omitempty"`
	// Guard is an expr expression over the declared facts that must be true,
	// e.g. `score >= 100 && grade in ["A","B"]`.
	Guard string `json:"guard,omitempty"`
	// Reasons, when set, is the list of allowed reason codes: firing the
	// transition then requires one of them (recycle, disqualify, lost).
	Reasons []string `json:"reasons,omitempty"`
	// ForwardOnly forbids the transition from moving a subject back: it
	// applies only when To is further down the funnel than the current
	// stage. Automatic rules skip it otherwise; Fire refuses it. Funnel
	// order is the order of Definition.Stages, except that recycled and
	// closed stages rank before every other stage: leaving them for a funnel
	// stage is forward (re-qualifying a recycled lead), entering them never is.
	ForwardOnly bool `json:"forward_only,omitempty"`
}

// Definition is a stage model: plain data, loadable from JSON or YAML and
// storable per tenant. New validates and compiles it.
type Definition struct {
	// Name is the pipeline name ("new_business", "expansion"). Several
	// pipelines can run side by side for one subject in one Store.
	Name string `json:"name"`
	// Initial is the stage new subjects start in.
	Initial string `json:"initial"`
	// Stages in funnel order: the order defines "forward" and funnel rank.
	Stages []Stage `json:"stages"`
	// Transitions between the stages.
	Transitions []Transition `json:"transitions"`
	// Facts declares the facts guards may read, with their types (number,
	// string, bool, strings or time; see [leadkit.FieldType]), e.g.
	// {"score": "number", "grade": "string"}. Guards read them by bare
	// name; a guard that reads an undeclared fact fails to compile.
	Facts map[string]leadkit.FieldType `json:"facts,omitempty"`
	// Targets are the team's target conversion rates and cycle times per
	// step (MQL -> TAL: 0.6 in 2d), between funnel stages in funnel order;
	// [Machine.Gaps] compares a funnel with them.
	Targets []Target `json:"targets,omitempty"`
}

// Caps on a definition, checked by [New] (a definition document read by
// [ParseDefinition] is at most [leadkit.MaxDocumentBytes]). Names (of the
// pipeline, stages, teams, transitions, reason codes, sub-statuses and
// facts) and labels are at most [leadkit.MaxNameBytes] of valid UTF-8
// without NUL bytes; guards are at most [leadkit.MaxExprBytes]. The work of
// New grows with stages times transitions, so these caps bound it (a
// definition at every cap compiles in well under a second).
const (
	MaxStages      = 256
	MaxTransitions = 1024
	MaxFacts       = 256
	MaxSubStatuses = 64
	MaxReasons     = 64
)

// checkCaps reports every size and text problem of d through bad, and
// whether d is too big to look at further.
func checkCaps(d Definition, bad func(where, format string, args ...any)) (tooBig bool) {
	text := func(where, what, v string) {
		if msg := leadkit.CheckText(v, leadkit.MaxNameBytes); msg != "" {
			bad(where, "%s %s", what, msg)
		}
	}
	count := func(where, what string, n, max int) {
		if n > max {
			bad(where, "%d %s, the limit is %d", n, what, max)
			tooBig = true
		}
	}
	count("stages", "stages", len(d.Stages), MaxStages)
	count("transitions", "transitions", len(d.Transitions), MaxTransitions)
	count("facts", "facts", len(d.Facts), MaxFacts)
	if tooBig {
		return true
	}
	text("name", "pipeline name", d.Name)
	text("initial", "initial stage", d.Initial)
	for i, s := range d.Stages {
		where := fmt.Sprintf("stages[%d]", i)
		text(where, "name", s.Name)
		text(where, "label", s.Label)
		text(where, "team", s.Team)
		count(where, "sub-statuses", len(s.SubStatuses), MaxSubStatuses)
		for _, ss := range s.SubStatuses {
			text(where, "sub-status", ss)
		}
	}
	for i, t := range d.Transitions {
		where := fmt.Sprintf("transitions[%d]", i)
		text(where, "name", t.Name)
		text(where, "target", t.To)
		count(where, "source stages", len(t.From), MaxStages)
		count(where, "reason codes", len(t.Reasons), MaxReasons)
		for _, f := range t.From {
			text(where, "source stage", f)
		}
		for _, r := range t.Reasons {
			text(where, "reason code", r)
		}
	}
	for name := range d.Facts {
		text("facts", "fact name", name)
	}
	return tooBig
}

// forwardRanks returns each stage's funnel rank, by stage index: its index,
// or -1 for recycled and closed stages.
func (d Definition) forwardRanks() []int {
	out := make([]int, len(d.Stages))
	for i, s := range d.Stages {
		out[i] = i
		if s.Category == Recycled || s.Category == Closed {
			out[i] = -1
		}
	}
	return out
}

// ParseDefinition reads a Definition from JSON or YAML (at most
// [leadkit.MaxDocumentBytes]). Unknown and duplicate keys are errors, so a
// typo in a key does not pass silently. The result is not yet validated:
// pass it to New.
func ParseDefinition(data []byte) (Definition, error) {
	var d Definition
	if err := spec.Parse(data, &d); err != nil {
		return Definition{}, fmt.Errorf("stage: parse definition: %w", err)
	}
	return d, nil
}

// MarshalJSON writes the SLA as text ("14d", "36h"; see
// leadkit.FormatDuration).
func (s Stage) MarshalJSON() ([]byte, error) { return spec.EncodeDurations(s) }

// UnmarshalJSON reads the SLA as text ("14d", "36h"); a bare number and
// an unknown key are errors wrapping [leadkit.ErrInvalid].
func (s *Stage) UnmarshalJSON(b []byte) error {
	return spec.DecodeDurations(b, s, "")
}

// Stage returns the stage named name and whether it exists.
func (d Definition) Stage(name string) (Stage, bool) {
	for _, s := range d.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Clone returns a deep copy of d.
func (d Definition) Clone() Definition {
	c := d
	c.Stages = make([]Stage, len(d.Stages))
	for i, s := range d.Stages {
		s.SubStatuses = slices.Clone(s.SubStatuses)
		c.Stages[i] = s
	}
	c.Transitions = make([]Transition, len(d.Transitions))
	for i, t := range d.Transitions {
		t.From = slices.Clone(t.From)
		t.Reasons = slices.Clone(t.Reasons)
		c.Transitions[i] = t
	}
	c.Targets = slices.Clone(d.Targets)
	if d.Facts != nil {
		c.Facts = make(map[string]leadkit.FieldType, len(d.Facts))
		for k, v := range d.Facts {
			c.Facts[k] = v
		}
	}
	return c
}

// InsertBefore returns a copy of d with stage s placed right before the
// stage before, the way a team puts Prospect or Inquiry ahead of the first
// stage. When before is the initial stage, s becomes the initial stage, a
// manual transition named "<s>_to_<before>" (lower case) leads from s to
// before, and s leaves the way before leaves for recycled and closed
// stages (wildcard transitions such as disqualify apply to s
// automatically). Otherwise it is InsertBetween(s, p, before) for the last
// stage p before it in the stage order with a transition into before. When
// s has no Category it takes before's. It fails if before is unknown, s's
// name is empty or taken, or a generated transition name is taken.
func (d Definition) InsertBefore(s Stage, before string) (Definition, error) {
	at := slices.IndexFunc(d.Stages, func(x Stage) bool { return x.Name == before })
	if at < 0 {
		return d, fmt.Errorf("stage: insert %q: %w: unknown stage %q", s.Name, leadkit.ErrInvalid, before)
	}
	if _, ok := d.Stage(s.Name); ok || s.Name == "" {
		return d, fmt.Errorf("stage: insert %q: %w: stage name empty or already used", s.Name, leadkit.ErrInvalid)
	}
	if before != d.Initial {
		for p := at - 1; p >= 0; p-- {
			from := d.Stages[p].Name
			for _, t := range d.Transitions {
				if t.To == before && slices.Contains(t.From, from) {
					return d.InsertBetween(s, from, before)
				}
			}
		}
		return d, fmt.Errorf("stage: insert %q: %w: no stage before %q leads to it", s.Name, leadkit.ErrInvalid, before)
	}
	c := d.Clone()
	s.SubStatuses = slices.Clone(s.SubStatuses)
	if s.Category == "" {
		s.Category = d.Stages[at].Category
	}
	c.Stages = slices.Insert(c.Stages, at, s)
	c.Initial = s.Name
	for i := range c.Transitions {
		t := &c.Transitions[i]
		if !slices.Contains(t.From, before) || t.To == before {
			continue
		}
		if st, ok := d.Stage(t.To); ok && (st.Category == Recycled || st.Category == Closed) {
			t.From = append(slices.Clone(t.From), s.Name)
		}
	}
	name := strings.ToLower(s.Name) + "_to_" + strings.ToLower(before)
	for _, t := range c.Transitions {
		if t.Name == name {
			return d, fmt.Errorf("stage: insert %q: %w: transition name %q would be used twice", s.Name, leadkit.ErrInvalid, name)
		}
	}
	c.Transitions = append(c.Transitions, Transition{Name: name, From: []string{s.Name}, To: before})
	return c, nil
}

// InsertBetween returns a copy of d with stage s placed between the stages
// from and to, the way a team adds TAL (Teleprospecting Accepted Lead)
// between MQL and SAL to measure its SDRs:
//
//   - s is placed right after from in the stage order (right before to
//     when from is a recycled or closed stage, so that the funnel order
//     stays right);
//   - every transition that leads from `from` straight to `to` now leads to s
//     instead (keeping its name, guard and flags), and is split off into a
//     copy when it also leaves from other stages;
//   - a manual transition named "<s>_to_<to>" (lower case) leads from s to to;
//   - every transition that leaves from both `from` and `to` (such as
//     recycle from MQL and SAL) leaves from s too, and so does every
//     transition that leaves `from` for a recycled or closed stage (such as
//     the waterfall's reject from MQL to MRL): s can send a lead back the
//     way `from` can.
//
// Wildcard transitions ("*", such as disqualify) apply to s automatically.
// When s has no Category it takes to's, so a stage inserted before a
// recycled or closed stage does not join the funnel. It fails if from or to
// is unknown, s's name is taken, a generated transition name is taken, or
// no transition leads from `from` to `to`.
func (d Definition) InsertBetween(s Stage, from, to string) (Definition, error) {
	if _, ok := d.Stage(from); !ok {
		return d, fmt.Errorf("stage: insert %q: %w: unknown stage %q", s.Name, leadkit.ErrInvalid, from)
	}
	if _, ok := d.Stage(to); !ok {
		return d, fmt.Errorf("stage: insert %q: %w: unknown stage %q", s.Name, leadkit.ErrInvalid, to)
	}
	if _, ok := d.Stage(s.Name); ok || s.Name == "" {
		return d, fmt.Errorf("stage: insert %q: %w: stage name empty or already used", s.Name, leadkit.ErrInvalid)
	}
	c := d.Clone()
	s.SubStatuses = slices.Clone(s.SubStatuses)
	toStage, _ := d.Stage(to)
	if s.Category == "" {
		s.Category = toStage.Category
	}
	// The new stage comes right after `from` in the stage order, which is
	// the funnel order; when `from` is outside the funnel (Recycled ->
	// MQL), right before `to`, or a requalifying lead would rank after Won.
	fromStage, _ := d.Stage(from)
	at := slices.IndexFunc(c.Stages, func(x Stage) bool { return x.Name == from }) + 1
	if fromStage.Category == Recycled || fromStage.Category == Closed {
		at = slices.IndexFunc(c.Stages, func(x Stage) bool { return x.Name == to })
	}
	c.Stages = slices.Insert(c.Stages, at, s)
	redirected := false
	var extra []Transition
	back := func(target string) bool {
		st, ok := d.Stage(target)
		return ok && (st.Category == Recycled || st.Category == Closed)
	}
	for i := range c.Transitions {
		t := &c.Transitions[i]
		if slices.Contains(t.From, from) && (slices.Contains(t.From, to) || (t.To != to && back(t.To))) {
			t.From = append(t.From, s.Name)
		}
		if t.To != to || !slices.Contains(t.From, from) {
			continue
		}
		redirected = true
		if len(t.From) == 1 {
			t.To = s.Name
			continue
		}
		// The transition also leaves from other stages: keep those on the
		// old target and move only `from` to the new stage.
		split := *t
		split.Name = t.Name + "_" + strings.ToLower(s.Name)
		split.From = []string{from}
		split.To = s.Name
		split.Reasons = slices.Clone(t.Reasons)
		t.From = slices.DeleteFunc(slices.Clone(t.From), func(x string) bool { return x == from })
		extra = append(extra, split)
	}
	if !redirected {
		return d, fmt.Errorf("stage: insert %q: %w: no transition leads from %q to %q", s.Name, leadkit.ErrInvalid, from, to)
	}
	c.Transitions = append(c.Transitions, extra...)
	c.Transitions = append(c.Transitions, Transition{
		Name: strings.ToLower(s.Name) + "_to_" + strings.ToLower(to),
		From: []string{s.Name},
		To:   to,
	})
	seen := map[string]bool{}
	for _, t := range c.Transitions {
		if seen[t.Name] {
			return d, fmt.Errorf("stage: insert %q: %w: transition name %q would be used twice", s.Name, leadkit.ErrInvalid, t.Name)
		}
		seen[t.Name] = true
	}
	return c, nil
}
