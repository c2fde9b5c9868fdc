package stage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"sigs.k8s.io/yaml"
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
	SLA Duration `json:"sla,omitempty"`
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

// FactType is the declared type of a fact that guards read.
type FactType string

// The fact types.
const (
	Number  FactType = "number"  // float64; ints are converted
	String  FactType = "string"  // string
	Bool    FactType = "bool"    // bool
	Strings FactType = "strings" // []string
)

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
	// Facts declares the facts guards may read, with their types. Guards that
	// read an undeclared fact fail to compile.
	Facts map[string]FactType `json:"facts,omitempty"`
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

// ParseDefinition reads a Definition from JSON or YAML. Unknown fields are
// errors, so a typo in a key does not pass silently. The result is not yet
// validated: pass it to New.
func ParseDefinition(data []byte) (Definition, error) {
	var d Definition
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return d, fmt.Errorf("stage: parse definition: %w: %s", leadkit.ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Definition{}, fmt.Errorf("stage: parse definition: %w: %s", leadkit.ErrInvalid, err)
	}
	return d, nil
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
	if d.Facts != nil {
		c.Facts = make(map[string]FactType, len(d.Facts))
		for k, v := range d.Facts {
			c.Facts[k] = v
		}
	}
	return c
}

// InsertBetween returns a copy of d with stage s placed between the stages
// from and to, the way a team adds TAL (Teleprospecting Accepted Lead)
// between MQL and SAL to measure its SDRs:
//
//   - s is placed right after from in the stage order;
//   - every transition that leads from `from` straight to `to` now leads to s
//     instead (keeping its name, guard and flags), and is split off into a
//     copy when it also leaves from other stages;
//   - a manual transition named "<s>_to_<to>" (lower case) leads from s to to;
//   - every transition that leaves from both `from` and `to` (such as
//     recycle from MQL and SAL) leaves from s too.
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
	if s.Category == "" {
		toStage, _ := d.Stage(to)
		s.Category = toStage.Category
	}
	at := slices.IndexFunc(c.Stages, func(x Stage) bool { return x.Name == from })
	c.Stages = slices.Insert(c.Stages, at+1, s)
	redirected := false
	var extra []Transition
	for i := range c.Transitions {
		t := &c.Transitions[i]
		if slices.Contains(t.From, from) && slices.Contains(t.From, to) {
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

// Duration is a time.Duration that reads and writes as text in JSON: Go
// duration syntax ("36h", "90m") plus whole days and weeks ("3d", "2w").
type Duration time.Duration

// ParseDuration parses Go duration syntax ("36h", "1h30m") or a decimal
// number of days ("3d", "1.5d") or weeks ("2w"). Negative durations and
// durations over 100,000 days are refused. Errors wrap leadkit.ErrInvalid.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	bad := func() (Duration, error) {
		return 0, fmt.Errorf("stage: %w: invalid duration %q (want e.g. \"72h\", \"3d\" or \"2w\")", leadkit.ErrInvalid, s)
	}
	const maxDays = 100_000
	if m := dayWeekRE.FindStringSubmatch(s); m != nil {
		v, err := strconv.ParseFloat(m[1], 64)
		unit := 24 * time.Hour
		if m[2] == "w" {
			unit *= 7
		}
		if err != nil || v*float64(unit) > maxDays*24*float64(time.Hour) {
			return bad()
		}
		return Duration(v * float64(unit)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 || v > maxDays*24*time.Hour {
		return bad()
	}
	return Duration(v), nil
}

var dayWeekRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([dw])$`)

// String formats d as whole days ("2d") or hours ("36h") when it is one,
// else in Go duration syntax ("90m0s"). ParseDuration reads all of them.
func (d Duration) String() string {
	const day = Duration(24 * time.Hour)
	switch {
	case d != 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d != 0 && d%Duration(time.Hour) == 0:
		return strconv.FormatInt(int64(d/Duration(time.Hour)), 10) + "h"
	}
	return time.Duration(d).String()
}

// MarshalJSON writes d as a duration string (see String).
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string (see ParseDuration). A bare
// number is refused: "sla: 3" would otherwise mean 3 nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("stage: %w: duration must be a string such as \"72h\" or \"3d\", got %s", leadkit.ErrInvalid, b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
