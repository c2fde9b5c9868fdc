package sim

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
)

// Kind says what a Record holds.
type Kind uint8

// The kinds of Record.
const (
	// KindLead: a lead was created (left the prospect pool); Record.Lead.
	KindLead Kind = iota + 1
	// KindObservation: a channel saw the person for the first time;
	// Record.Observation, for the prospect pool.
	KindObservation
	// KindEvent: a touch or sales activity; Record.Event.
	KindEvent
	// KindStage: the lead moved to another stage; Record.Stage.
	KindStage
)

var kindNames = [...]string{"", "lead", "observation", "event", "stage"}

// String returns "lead", "observation", "event" or "stage".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name, as MarshalText writes it; any other
// text is an error wrapping leadkit.ErrInvalid.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if i > 0 && name == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("sim: %w: record kind %q, want lead, observation, event or stage", leadkit.ErrInvalid, string(b[:min(len(b), 40)]))
}

// Record is one item of the simulated stream, in time order. Exactly the
// field named by Kind is set.
type Record struct {
	Kind        Kind          `json:"kind"`
	Time        time.Time     `json:"time"`
	Lead        *leadkit.Lead `json:"lead,omitempty"`
	Observation *Observation  `json:"observation,omitempty"`
	Event       leadkit.Event `json:"event,omitzero"`
	Stage       StageChange   `json:"stage,omitzero"`
}

// Observation is what a channel learnt about a person the first time it
// saw them: the identities it saw and the profile. It mirrors the fields
// of pool.Observation (ID, At, Identities, Person, Company, Source,
// Touch) without importing package pool, which sim may not depend on;
// convert it field by field. Lead is the truth, for tests: the lead this
// person is, which the pool must discover from the identities.
type Observation struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	Identities []Identity      `json:"identities"`
	Person     leadkit.Person  `json:"person"`
	Company    leadkit.Company `json:"company"`
	// Channel and Campaign are the source (pool.Source).
	Channel  string `json:"channel"`
	Campaign string `json:"campaign,omitempty"`
	// Touch is always true: an observation comes with a touch.
	Touch bool `json:"touch"`
	// Lead is the simulated lead the observation is of (the truth; a real
	// source would not know it).
	Lead string `json:"lead"`
}

// Identity is one raw identity as a channel saw it. Kind is a
// pool.IdentityKind name: "email", "phone", "device" or "subject" (the
// Event.LeadID under which the person's events arrive).
type Identity struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// StageChange is a lead's move between stages of the classic funnel
// (stage.Classic names: Raw, MQL, SAL, SQL, Opportunity, Won, Lost,
// Recycled). From is "Raw" for a lead's first MQL.
type StageChange struct {
	LeadID string    `json:"lead_id"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
	// Actor is who made the change: the SDR who called the MQL ("sdr-2")
	// for its acceptance (SAL) or rejection, the lead's sales rep ("ae-1")
	// for the moves after SAL; empty for the qualification to MQL, which
	// the lead's own hand-raise makes.
	Actor string `json:"actor,omitempty"`
}

// Stage names the simulator uses (those of stage.Classic).
const (
	StageRaw         = "Raw"
	StageMQL         = "MQL"
	StageSAL         = "SAL"
	StageSQL         = "SQL"
	StageOpportunity = "Opportunity"
	StageWon         = "Won"
	StageLost        = "Lost"
	StageRecycled    = "Recycled"
)

// Sim is a validated simulation. It is immutable and safe for concurrent
// use: every iteration regenerates the same data from the seed.
type Sim struct {
	cfg      Config
	end      int64 // unix seconds, exclusive
	start    int64
	oldAge   int64
	base     float64
	chans    []chanInfo
	types    []string // event types by index
	golden   []uint8  // golden items as type indexes
	senCum   []float64
	sizeCum  []float64
	capacity int // calls per working day
	sdrNames []string
	repNames []string

	truthOnce sync.Once
	truth     Truth
}

type chanInfo struct {
	name      string
	mean      float64
	types     []uint8
	logOdds   float64
	campaigns []string // per month
	contents  []string
	identity  idStyle
}

// New validates cfg (every problem at once, each error wrapping
// leadkit.ErrInvalid) and returns the simulation.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg}
	s.start = cfg.Start.Unix()
	s.end = cfg.Start.AddDate(0, cfg.Months, 0).Unix()
	s.oldAge = int64(time.Duration(cfg.OldLeadAge) / time.Second)
	s.base = math.Log(cfg.BaseRate / (1 - cfg.BaseRate))
	typeIdx := map[string]uint8{}
	for _, ch := range cfg.Channels {
		ci := chanInfo{name: ch.Name, mean: ch.Touches, logOdds: ch.LogOdds, identity: styleOf(ch.Name)}
		for _, t := range ch.Types {
			i, ok := typeIdx[t]
			if !ok {
				i = uint8(len(s.types))
				typeIdx[t] = i
				s.types = append(s.types, t)
			}
			ci.types = append(ci.types, i)
		}
		for m := range cfg.Months {
			ci.campaigns = append(ci.campaigns, ch.Name+"-"+cfg.Start.AddDate(0, m, 0).Format("2006-01"))
		}
		ci.contents = contentsOf(ch.Name)
		s.chans = append(s.chans, ci)
	}
	for _, it := range cfg.Golden.Items {
		s.golden = append(s.golden, typeIdx[it])
	}
	s.senCum = cumulative(len(cfg.Seniority), func(i int) float64 { return cfg.Seniority[i].Share })
	s.sizeCum = cumulative(len(cfg.Sizes), func(i int) float64 { return cfg.Sizes[i].Share })
	if s.cfg.SDRs == 0 {
		s.cfg.SDRs = max(s.autoSDRs(), len(s.cfg.SDRSkill))
	}
	s.capacity = s.cfg.SDRs * s.cfg.CallsPerSDRPerDay
	s.sdrNames, s.repNames = names("sdr-", s.cfg.SDRs), names("ae-", s.cfg.SalesReps)
	return s, nil
}

// Config returns the configuration with every default filled in.
func (s *Sim) Config() Config {
	c := s.cfg.withDefaults() // copies the lists
	return c
}

func cumulative(n int, share func(int) float64) []float64 {
	out := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += share(i)
		out[i] = sum
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func pick(r *rand.Rand, cum []float64) int {
	u := r.Float64()
	i, _ := slices.BinarySearch(cum, u)
	return min(i, len(cum)-1)
}

// autoSDRs sizes the team for at most 80% utilisation: it estimates the
// MQL probability from 4000 sampled plans (a stream of its own, so the
// data does not depend on it beyond the team size).
func (s *Sim) autoSDRs() int {
	r := rand.New(rand.NewPCG(s.cfg.Seed, 0x5d5))
	const n = 4000
	conv := 0.0
	var l lead
	for i := range n {
		l.pcg = *rand.NewPCG(r.Uint64(), uint64(i))
		l.r = rand.New(&l.pcg)
		l.plan(s, s.start, nil)
		conv += l.p
	}
	days := float64(s.end-s.start) / 86400 * 5 / 7
	perDay := float64(s.cfg.Leads) * conv / n * (1 + float64(*s.cfg.RecycleRate*(1-s.cfg.AcceptRate))) / days
	return max(1, int(math.Ceil(perDay/0.8/float64(s.cfg.CallsPerSDRPerDay))))
}

// Records returns the whole simulated stream in time order: leads,
// observations, events and stage changes. Records at the same second
// keep a fixed order (by lead, then as the lead made them). Generation
// cannot fail once New has accepted the Config. Memory is bounded by the
// leads whose journeys are in progress, not by the size of the run.
func (s *Sim) Records() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		s.run(nil, yield)
	}
}

// Events returns the events of Records, in time order. Every event passes
// leadkit.Event.Validate and has a unique ID.
func (s *Sim) Events() iter.Seq[leadkit.Event] {
	return func(yield func(leadkit.Event) bool) {
		s.run(nil, func(r Record) bool {
			if r.Kind != KindEvent {
				return true
			}
			return yield(r.Event)
		})
	}
}

// run generates the stream, feeding t (when not nil) and yield.
func (s *Sim) run(t *tally, yield func(Record) bool) {
	g := newGen(s, t)
	g.run(yield)
}

// names returns prefix1, prefix2, ... prefixN.
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i+1)
	}
	return out
}

// skill returns list[i], or 0 past its end.
func skill(list []float64, i int) float64 {
	if i < len(list) {
		return list[i]
	}
	return 0
}
