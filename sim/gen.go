package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/leadkit/leadkit"
)

// Streams of the seed: each use of randomness draws from its own PCG
// stream, so changing one part of the model does not shift the others.
const (
	streamCreate  = 0x6372656174650001
	streamLead    = 0x6c65616400000000
	streamAccount = 0x6163636f756e7400
)

// Lead phases: what a lead's next step is.
const (
	phTouch   = iota // the next touch of the current plan
	phMQL            // qualify at tEnd
	phCall           // the SDR call
	phFollow         // a sales follow-up
	phMeeting        // the meeting that decides the opportunity
	phClose          // the deal closes
	phDone
)

type touch struct{ ch, typ uint8 }

// lead is one lead's state while its journey is in progress.
type lead struct {
	idx     int
	id      string
	pcg     rand.PCG
	r       *rand.Rand
	profile *leadkit.Lead

	account int
	sen     int
	size    int
	p       float64 // conversion probability of the plan
	golden  bool    // the plan holds the golden path

	created, tEnd, prev, next int64
	touches                   []touch
	i                         int
	phase                     uint8
	converts                  bool
	recycled                  bool // the lead is in its second (nurture) journey
	firstDone                 bool // the first journey ended (MQL or not)

	seq      int
	gi       int    // golden items seen so far in emitted touches
	mask     uint64 // channels that touched the lead (emitted)
	seen     uint64 // channels that have observed the person
	path     []uint8
	mqlAt    int64
	mqlMonth int
	left     int
	amount   float64
	stage    string
	sdr      int // the SDR booked for the lead's call
	hasPhone bool
	dup      bool
	won      float64
}

// plan draws who the lead is and what its first journey will be: the
// account, seniority, touches (Poisson per channel, at least one in all,
// in random order), whether it converts and when it would qualify.
func (l *lead) plan(s *Sim, created int64, buf []touch) {
	r := l.r
	c := &s.cfg
	l.account = r.IntN(c.Accounts)
	l.size = s.accountSize(l.account)
	l.sen = pick(r, s.senCum)
	l.touches = buf[:0]
	for len(l.touches) == 0 {
		for ci := range s.chans {
			ch := &s.chans[ci]
			for range poisson(r, ch.mean) {
				l.touches = append(l.touches, touch{uint8(ci), ch.types[r.IntN(len(ch.types))]})
			}
		}
	}
	r.Shuffle(len(l.touches), func(i, j int) { l.touches[i], l.touches[j] = l.touches[j], l.touches[i] })
	eta := s.base + c.Seniority[l.sen].LogOdds + c.Sizes[l.size].LogOdds
	var mask uint64
	for _, t := range l.touches {
		mask |= 1 << t.ch
	}
	for ci := range s.chans {
		if mask&(1<<ci) != 0 {
			eta += s.chans[ci].logOdds
		}
	}
	l.golden = len(s.golden) > 0 && hasPath(l.touches, s.golden)
	if l.golden {
		eta += c.Golden.LogOdds
	}
	l.p = 1 / (1 + math.Exp(-eta))
	l.converts = r.Float64() < l.p
	age := int64(r.Float64() * float64(s.oldAge))
	if r.Float64() < *c.OldLeadShare {
		age += s.oldAge
	}
	l.created, l.tEnd, l.prev, l.next = created, created+age, created, created
	l.i, l.phase = 0, phTouch
}

// hasPath reports whether the touch types hold items in order.
func hasPath(ts []touch, items []uint8) bool {
	k := 0
	for _, t := range ts {
		if t.typ == items[k] {
			if k++; k == len(items) {
				return true
			}
		}
	}
	return false
}

// poisson draws a Poisson count with the given mean (Knuth's method; the
// means of a channel are small).
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	lim, p, k := math.Exp(-mean), r.Float64(), 0
	for p > lim {
		p *= r.Float64()
		k++
	}
	return k
}

// gen is one pass over the simulation.
type gen struct {
	s    *Sim
	t    *tally
	heap leadHeap
	out  []Record
	idb  []byte

	create  *rand.Rand
	made    int
	nextAt  float64 // creation time of the next lead, unix seconds
	cursor  int64   // the SDR team's current day (days since epoch)
	used    int     // calls booked on cursor
	booked  int     // calls booked in all
	running bool
}

func newGen(s *Sim, t *tally) *gen {
	g := &gen{s: s, t: t, create: rand.New(rand.NewPCG(s.cfg.Seed, streamCreate)), nextAt: float64(s.start), cursor: math.MinInt64}
	g.advanceCreate()
	return g
}

// advanceCreate draws the next creation time: the minimum of the
// remaining leads' uniform times over [now, end), so that exactly Leads
// leads are made in order without holding their times.
func (g *gen) advanceCreate() {
	left := g.s.cfg.Leads - g.made
	if left <= 0 {
		return
	}
	u := g.create.Float64()
	g.nextAt += float64((float64(g.s.end) - g.nextAt) * (1 - math.Pow(1-u, 1/float64(left)))) // rounded: no fused multiply-add
}

func (g *gen) run(yield func(Record) bool) {
	s := g.s
	for {
		var l *lead
		g.out = g.out[:0]
		if g.made < s.cfg.Leads && (len(g.heap) == 0 || int64(g.nextAt) < g.heap[0].next) {
			l = g.newLead()
		} else if len(g.heap) > 0 {
			l = g.heap.pop()
		} else {
			break
		}
		g.step(l)
		if l.phase != phDone && l.next < s.end {
			g.heap.push(l)
		} else {
			g.finish(l)
		}
		for i := range g.out {
			if !yield(g.out[i]) {
				return
			}
		}
	}
}

func (g *gen) newLead() *lead {
	s := g.s
	idx := g.made
	created := min(int64(g.nextAt), s.end-1)
	g.made++
	g.advanceCreate()
	l := &lead{idx: idx, id: "lead-" + strconv.Itoa(idx)}
	l.pcg = *rand.NewPCG(s.cfg.Seed, streamLead+uint64(idx))
	l.r = rand.New(&l.pcg)
	l.plan(s, created, nil)
	l.stage = StageRaw
	l.profile = s.makeLead(l)
	g.emit(Record{Kind: KindLead, Lead: l.profile}, created)
	return l
}

func (g *gen) emit(r Record, at int64) {
	r.Time = time.Unix(at, 0).UTC()
	switch r.Kind {
	case KindEvent:
		r.Event.Time = r.Time
	case KindStage:
		r.Stage.At = r.Time
	case KindObservation:
		r.Observation.At = r.Time
	}
	if g.t != nil {
		g.t.record(g.s, &r)
	}
	g.out = append(g.out, r)
}

func (g *gen) event(l *lead, typ, channel, campaign, content string, at int64, attrs map[string]any) {
	g.idb = append(g.idb[:0], l.id...)
	g.idb = append(g.idb, '-')
	g.idb = strconv.AppendInt(g.idb, int64(l.seq), 10)
	l.seq++
	g.emit(Record{Kind: KindEvent, Event: leadkit.Event{
		ID: string(g.idb), LeadID: l.id, Type: typ, Channel: channel, Campaign: campaign, Content: content, Attrs: attrs,
	}}, at)
}

func (g *gen) move(l *lead, to, reason, actor string, at int64) {
	g.emit(Record{Kind: KindStage, Stage: StageChange{LeadID: l.id, From: l.stage, To: to, Reason: reason, Actor: actor}}, at)
	l.stage = to
}

func (s *Sim) month(at int64) int {
	t := time.Unix(at, 0).UTC()
	return (t.Year()-s.cfg.Start.Year())*12 + int(t.Month()) - int(s.cfg.Start.Month())
}

// step makes the lead's records at l.next and sets its next step.
func (g *gen) step(l *lead) {
	s, r, c := g.s, l.r, &g.s.cfg
	at := l.next
	switch l.phase {
	case phTouch:
		t := l.touches[l.i]
		ch := &s.chans[t.ch]
		if l.seen&(1<<t.ch) == 0 && ch.identity != idNone && l.profile != nil {
			l.seen |= 1 << t.ch
			g.emit(Record{Kind: KindObservation, Observation: s.observe(l, int(t.ch), at)}, at)
		}
		m := s.month(at)
		g.event(l, s.types[t.typ], ch.name, ch.campaigns[m], ch.contents[r.IntN(len(ch.contents))], at, nil)
		if g.t != nil {
			g.t.touch(int(t.ch), m)
		}
		if !l.recycled {
			l.mask |= 1 << t.ch
			l.path = append(l.path, t.ch)
			if len(s.golden) > 0 && l.gi < len(s.golden) && t.typ == s.golden[l.gi] {
				l.gi++
			}
		}
		l.i++
		if left := len(l.touches) - l.i; left > 0 {
			u := r.Float64()
			l.prev += int64(float64(l.tEnd-l.prev) * (1 - math.Pow(1-u, 1/float64(left))))
			l.next = l.prev
			return
		}
		if !l.converts {
			l.phase = phDone
			return
		}
		l.phase, l.next = phMQL, l.tEnd
	case phMQL:
		first := !l.recycled
		m := s.month(at)
		if g.t != nil {
			g.t.mql(l, at, m)
		}
		l.mqlMonth = m
		l.mqlAt = at
		g.event(l, EventHandRaise, "", "", "", at, nil)
		g.move(l, StageMQL, "", "", at)
		if first {
			l.firstDone = true
			l.profile = nil
		}
		l.next, l.left, l.sdr = g.book(at)
		l.phase = phCall
	case phCall:
		g.event(l, leadkit.EventSDRCall, ChannelSDR, "", "", at, nil)
		wait := l.left
		if g.t != nil {
			g.t.call(wait, s.month(at))
		}
		eta := logit(c.AcceptRate) + float64(*c.WaitLogOdds*float64(wait)) // rounded: no fused multiply-add
		eta += skill(c.SDRSkill, l.sdr)
		sdr := s.sdrNames[l.sdr]
		accepted := r.Float64() < sigmoid(eta)
		if g.t != nil {
			g.t.screen(l.sdr, accepted)
		}
		if accepted {
			g.move(l, StageSAL, "", sdr, at)
			l.phase, l.left = phFollow, 1+r.IntN(3)
			l.next = at + days(r, 2, 7)
			return
		}
		reason := "no_response"
		if r.IntN(2) == 0 {
			reason = "not_ready"
		}
		g.move(l, StageRecycled, reason, sdr, at)
		if l.recycled || r.Float64() >= *c.RecycleRate {
			l.phase = phDone
			return
		}
		// Nurture: one to four emails over one to four months, then the
		// lead qualifies again.
		l.recycled = true
		n := 1 + r.IntN(4)
		email := s.nurtureChannel()
		l.touches = l.touches[:0]
		for range n {
			ch := &s.chans[email]
			l.touches = append(l.touches, touch{uint8(email), ch.types[r.IntN(len(ch.types))]})
		}
		l.i, l.tEnd = 0, at+days(r, 30, 120)
		l.prev = at + int64(float64(l.tEnd-at)*(1-math.Pow(1-r.Float64(), 1/float64(n))))
		l.next = l.prev
		l.phase, l.converts = phTouch, true
	case phFollow:
		g.event(l, leadkit.EventSalesFollowUp, ChannelSales, "", "", at, nil)
		if l.left--; l.left > 0 {
			l.next = at + days(r, 2, 7)
			return
		}
		rep := l.idx % len(s.repNames)
		sqlRate := c.SQLRate
		if k := skill(c.SalesSkill, rep); k != 0 {
			sqlRate = sigmoid(logit(sqlRate) + k)
		}
		qualified := r.Float64() < sqlRate
		if g.t != nil {
			g.t.sale(rep, qualified)
		}
		if !qualified {
			g.move(l, StageRecycled, "not_ready", s.repNames[rep], at)
			l.phase = phDone
			return
		}
		g.move(l, StageSQL, "", s.repNames[rep], at)
		l.phase, l.next = phMeeting, at+days(r, 3, 10)
	case phMeeting:
		g.event(l, leadkit.EventMeeting, ChannelSales, "", "", at, nil)
		if r.Float64() >= c.OpportunityRate {
			g.move(l, StageRecycled, "no_budget", s.repNames[l.idx%len(s.repNames)], at)
			l.phase = phDone
			return
		}
		g.move(l, StageOpportunity, "", s.repNames[l.idx%len(s.repNames)], at)
		factor := c.Sizes[l.size].DealFactor
		if factor == 0 {
			factor = 1
		}
		l.amount = min(math.Round(c.DealSize*factor*math.Exp(0.6*r.NormFloat64())), MaxDealAmount)
		l.phase, l.next = phClose, at+days(r, 15, 60)
	case phClose:
		attrs := map[string]any{"amount": l.amount}
		if r.Float64() < c.WinRate {
			g.event(l, EventDealWon, ChannelSales, "", "", at, attrs)
			g.move(l, StageWon, "", s.repNames[l.idx%len(s.repNames)], at)
			l.won = l.amount
			if g.t != nil {
				g.t.won(l.amount, s.month(at))
			}
		} else {
			g.event(l, EventDealLost, ChannelSales, "", "", at, attrs)
			g.move(l, StageLost, "", s.repNames[l.idx%len(s.repNames)], at)
		}
		l.phase = phDone
	}
}

// finish ends a lead: its journey is over or the run is.
func (g *gen) finish(l *lead) {
	if g.t != nil {
		g.t.lead(g.s, l)
	}
}

// book finds the SDR call slot for an MQL at time at: the same working day
// if it qualified before 16:00, else the next; then the first day with a
// free slot. MQLs come in time order, so the team's calendar is one
// cursor. It returns the call time, the working days waited and the SDR
// who makes the call.
func (g *gen) book(at int64) (int64, int, int) {
	day := floorDiv(at, 86400)
	if at-day*86400 >= 16*3600 {
		day++
	}
	for weekend(day) {
		day++
	}
	if day > g.cursor {
		g.cursor, g.used = day, 0
	}
	for weekend(g.cursor) || g.used >= g.s.capacity {
		g.cursor++
		g.used = 0
	}
	slot := int64(8*3600) / int64(g.s.capacity)
	call := g.cursor*86400 + 9*3600 + int64(g.used)*slot
	sdr := g.booked % g.s.cfg.SDRs // calls go to the SDRs in turn
	g.booked++
	g.used++
	call = max(call, at+300)
	return call, workdays(floorDiv(at, 86400), g.cursor), sdr
}

// workdays counts the weekdays in [a, b) (days since 1970-01-01): whole
// weeks at once, so a team booked years ahead costs no more than one
// booked today.
func workdays(a, b int64) int {
	if b <= a {
		return 0
	}
	weeks := (b - a) / 7
	n := weeks * 5
	for d := a + weeks*7; d < b; d++ {
		if !weekend(d) {
			n++
		}
	}
	return int(n)
}

// floorDiv is a/b rounded down (days before 1970 are negative).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// weekend reports whether day (days since 1970-01-01, a Thursday) is a
// Saturday or Sunday.
func weekend(day int64) bool {
	wd := ((day+4)%7 + 7) % 7 // 0 Sunday
	return wd == 0 || wd == 6
}

func days(r *rand.Rand, lo, hi int) int64 {
	return int64(lo)*86400 + r.Int64N(int64(hi-lo)*86400)
}

func logit(p float64) float64   { return math.Log(p / (1 - p)) }
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// nurtureChannel is the channel of recycled leads' nurture touches: the
// "email" channel if there is one, else the first.
func (s *Sim) nurtureChannel() int {
	for i, ch := range s.chans {
		if ch.name == ChannelEmail {
			return i
		}
	}
	return 0
}

// leadHeap orders leads by their next step's time, then index.
type leadHeap []*lead

func less(a, b *lead) bool {
	return a.next < b.next || (a.next == b.next && a.idx < b.idx)
}

func (h *leadHeap) push(l *lead) {
	*h = append(*h, l)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(a[i], a[p]) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *leadHeap) pop() *lead {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a[n] = nil
	a = a[:n]
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && less(a[c+1], a[c]) {
			c++
		}
		if !less(a[c], a[i]) {
			break
		}
		a[i], a[c] = a[c], a[i]
		i = c
	}
	*h = a
	return top
}
