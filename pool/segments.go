package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
)

// MaxPage caps the prospects one page of [Pool.Segment] or [Pool.Dormant]
// returns.
const MaxPage = 10000

// errStop ends a scan early once a page is full.
var errStop = errors.New("pool: page full")

// inSegment evaluates a segment on an active prospect at asOf.
func (cp *compiledPolicy) inSegment(prog *lang.Program, p *Prospect, asOf time.Time) (bool, error) {
	st := cp.state(p, asOf)
	defer evalPool.Put(st)
	return prog.Bool(&st.c, st.r)
}

// Segment lists the members of a segment at asOf (zero: now): active
// prospects only (opted-out, graduated, merged and erased ones are never
// selected for nurture), in ID order, at most limit (1 to MaxPage) after
// the prospect ID after (empty: from the start). next is the ID to pass as
// after for the following page, empty when there is none. A prospect whose
// segment condition fails to evaluate is left out.
func (p *Pool) Segment(ctx context.Context, name, after string, limit int, asOf time.Time) (members []Prospect, next string, err error) {
	prog, ok := p.policy.segments[name]
	if !ok {
		return nil, "", fmt.Errorf("pool: segment %q: %w", clip(name), leadkit.ErrNotFound)
	}
	return p.page(ctx, after, limit, asOf, func(pr *Prospect, at time.Time) bool {
		in, err := p.policy.inSegment(prog, pr, at)
		return err == nil && in
	})
}

// Dormant lists the active prospects with no activity (last touch, or
// joining if none) for at least idle at asOf (zero: now), optionally only
// the members of segment (empty: all), for reactivation campaigns; paged
// like [Pool.Segment].
func (p *Pool) Dormant(ctx context.Context, segment string, idle time.Duration, after string, limit int, asOf time.Time) ([]Prospect, string, error) {
	if idle <= 0 {
		return nil, "", fmt.Errorf("pool: dormant: %w: idle must be positive", leadkit.ErrInvalid)
	}
	var prog *lang.Program
	if segment != "" {
		var ok bool
		if prog, ok = p.policy.segments[segment]; !ok {
			return nil, "", fmt.Errorf("pool: segment %q: %w", clip(segment), leadkit.ErrNotFound)
		}
	}
	return p.page(ctx, after, limit, asOf, func(pr *Prospect, at time.Time) bool {
		last, ok := pr.LastActivity(at) // as of at: later touches do not count
		if !ok || at.Sub(last) < idle {
			return false
		}
		if prog == nil {
			return true
		}
		in, err := p.policy.inSegment(prog, pr, at)
		return err == nil && in
	})
}

// page scans active prospects after the given ID and keeps those match
// accepts, up to limit.
func (p *Pool) page(ctx context.Context, after string, limit int, asOf time.Time, match func(*Prospect, time.Time) bool) ([]Prospect, string, error) {
	if limit < 1 || limit > MaxPage {
		return nil, "", fmt.Errorf("pool: %w: page size %d, want 1 to %d", leadkit.ErrInvalid, limit, MaxPage)
	}
	if asOf.IsZero() {
		asOf = p.now()
	}
	var out []Prospect
	more := false
	err := p.store.Scan(ctx, func(pr Prospect) error {
		if pr.ID <= after || pr.Status != StatusActive || pr.OptedOut() || !match(&pr, asOf) {
			return nil
		}
		if len(out) == limit {
			more = true
			return errStop
		}
		out = append(out, pr)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, "", err
	}
	next := ""
	if more {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// SegmentCounts counts the members of every segment at asOf (zero: now).
func (p *Pool) SegmentCounts(ctx context.Context, asOf time.Time) (map[string]int, error) {
	if asOf.IsZero() {
		asOf = p.now()
	}
	out := make(map[string]int, len(p.policy.segNames))
	for _, n := range p.policy.segNames {
		out[n] = 0
	}
	err := p.store.Scan(ctx, func(pr Prospect) error {
		if pr.Status != StatusActive {
			return nil
		}
		for _, n := range p.policy.segNames {
			if in, err := p.policy.inSegment(p.policy.segments[n], &pr, asOf); err == nil && in {
				out[n]++
			}
		}
		return nil
	})
	return out, err
}

// Erase removes a prospect's personal data on request: identities,
// person and company fields, tags, consent details, touch times and the
// source campaign go; the ID, source channel, join and leave times and the
// status (erased) remain, for anonymous metrics. The prospects merged into
// it, and the one it was merged into with that one's other absorbed
// prospects, are one person and are erased with it, in one write. The
// identities are released: seen again, they make a new prospect. Erasing
// is irreversible and idempotent.
func (p *Pool) Erase(ctx context.Context, id string, at time.Time) (Prospect, error) {
	if at.IsZero() {
		at = p.now()
	}
	if !leadkit.ValidTime(at) {
		return Prospect{}, fmt.Errorf("pool: erase: %w: time outside %s", leadkit.ErrInvalid, leadkit.TimeRange)
	}
	for range maxRetries {
		family, err := p.family(ctx, id)
		if err != nil {
			return Prospect{}, err
		}
		var writes []Prospect
		var self Prospect
		for _, pr := range family {
			e := pr
			if pr.Status != StatusErased {
				e = Prospect{ID: pr.ID, Source: Source{Channel: pr.Source.Channel}, JoinedAt: pr.JoinedAt,
					GraduatedAt: pr.GraduatedAt, Status: StatusErased, LeftAt: laterOf(at.UTC(), pr.JoinedAt), LeftAs: StatusErased, Version: pr.Version + 1}
				if !pr.LeftAt.IsZero() {
					e.LeftAt, e.LeftAs = pr.LeftAt, pr.LeftAs // it had left the pool already
				}
				writes = append(writes, e)
			}
			if pr.ID == id {
				self = e
			}
		}
		if len(writes) == 0 {
			return self, nil
		}
		err = p.store.Apply(ctx, Mark{}, writes...)
		switch {
		case err == nil:
			return self, nil
		case errors.Is(err, leadkit.ErrConflict):
			continue
		default:
			return Prospect{}, err
		}
	}
	return Prospect{}, fmt.Errorf("pool: erase %q: %w: still conflicting after %d attempts", clip(id), leadkit.ErrConflict, maxRetries)
}

// family returns the prospects that are one person with id: up the
// MergedInto chain to the survivor, then every prospect absorbed into it,
// recursively.
func (p *Pool) family(ctx context.Context, id string) ([]Prospect, error) {
	root, err := p.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	for hops := 0; root.MergedInto != "" && hops < MaxIdentities*4; hops++ {
		if root, err = p.store.Get(ctx, root.MergedInto); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{root.ID: true}
	out := []Prospect{root}
	for i := 0; i < len(out); i++ {
		for _, a := range out[i].Absorbed {
			if seen[a] {
				continue
			}
			seen[a] = true
			pr, err := p.store.Get(ctx, a)
			if err != nil {
				return nil, err
			}
			out = append(out, pr)
		}
	}
	return out, nil
}

// Reenter brings a graduated prospect back into the pool, for a lead that
// sales recycled (a stage of category recycled): it becomes active again
// with its history, its lead moves to PastLeads, and it can graduate
// again. Only graduated prospects re-enter; others are an error wrapping
// leadkit.ErrInvalid.
func (p *Pool) Reenter(ctx context.Context, id string, at time.Time) (Prospect, error) {
	if at.IsZero() {
		at = p.now()
	}
	if !leadkit.ValidTime(at) {
		return Prospect{}, fmt.Errorf("pool: reenter: %w: time outside %s", leadkit.ErrInvalid, leadkit.TimeRange)
	}
	for range maxRetries {
		pr, err := p.store.Get(ctx, id)
		if err != nil {
			return Prospect{}, err
		}
		if pr.Status != StatusGraduated {
			return Prospect{}, fmt.Errorf("pool: reenter %q: %w: status %s, want graduated", clip(id), leadkit.ErrInvalid, pr.Status)
		}
		if len(pr.PastLeads) >= MaxPastLeads {
			return Prospect{}, fmt.Errorf("pool: reenter %q: %w: it graduated %d times, the limit is %d", clip(id), leadkit.ErrInvalid, len(pr.PastLeads)+1, MaxPastLeads)
		}
		pr.ReenteredAt = laterOf(at.UTC(), laterOf(pr.JoinedAt, pr.GraduatedAt))
		pr.PastLeads = append(slices.Clone(pr.PastLeads), pr.LeadID)
		pr.Status, pr.LeadID, pr.GraduatedAt, pr.LeftAt, pr.LeftAs = StatusActive, "", time.Time{}, time.Time{}, ""
		if pr.OptedOut() {
			pr.Status, pr.LeftAt, pr.LeftAs = StatusOptedOut, laterOf(at.UTC(), pr.JoinedAt), StatusOptedOut // back, but not for nurture
		}
		pr.Touches = mergeTouches(pr.Touches, []time.Time{at.UTC()})
		if at.After(pr.LastActivityAt) {
			pr.LastActivityAt = at.UTC()
		}
		pr.Version++
		err = p.store.Apply(ctx, Mark{}, pr)
		switch {
		case err == nil:
			return pr, nil
		case errors.Is(err, leadkit.ErrConflict):
			continue
		default:
			return Prospect{}, err
		}
	}
	return Prospect{}, fmt.Errorf("pool: reenter %q: %w: still conflicting after %d attempts", clip(id), leadkit.ErrConflict, maxRetries)
}
