package stage

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/tenants"
)

// Kind is the kind of subject a pipeline tracks. The three below are
// leadkit's; a tenant may name others (any text within
// leadkit.MaxNameBytes).
type Kind string

// Subject kinds. A pipeline can track leads, contacts or accounts.
const (
	KindLead    Kind = "lead"
	KindContact Kind = "contact"
	KindAccount Kind = "account"
)

// Subject is what moves through a pipeline: a lead, contact or account.
type Subject struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

// Lead returns the Subject of the lead with the given ID.
func Lead(id string) Subject { return Subject{Kind: KindLead, ID: id} }

// Account returns the Subject of the account with the given ID.
func Account(id string) Subject { return Subject{Kind: KindAccount, ID: id} }

// Contact returns the Subject of the contact with the given ID.
func Contact(id string) Subject { return Subject{Kind: KindContact, ID: id} }

// String formats the subject as `lead "L1"`.
func (s Subject) String() string { return string(s.Kind) + " " + fmt.Sprintf("%q", s.ID) }

// Key identifies one subject in one pipeline: a subject can run in several
// pipelines (new business, expansion) side by side.
type Key struct {
	Pipeline string `json:"pipeline"`
	Subject
}

// Record is a subject's current position in a pipeline.
type Record struct {
	Key
	Stage     string    `json:"stage"`
	SubStatus string    `json:"sub_status,omitempty"`
	EnteredAt time.Time `json:"entered_at"` // when it entered Stage
	UpdatedAt time.Time `json:"updated_at"`
	// Version counts the changes: 1 after Start, +1 per transition or
	// sub-status change. Every change is an Entry with the same Version.
	Version int64 `json:"version"`
}

// Trigger tells what caused a history entry.
type Trigger string

// The triggers.
const (
	TriggerStart     Trigger = "start"     // the subject entered the pipeline
	TriggerManual    Trigger = "manual"    // Fire
	TriggerAuto      Trigger = "auto"      // Advance, by a guard
	TriggerSubStatus Trigger = "substatus" // SetSubStatus: same stage, new sub-status
)

// Entry is one change in a subject's history.
type Entry struct {
	Key
	Version    int64     `json:"version"`
	Transition string    `json:"transition,omitempty"`
	From       string    `json:"from,omitempty"` // "" for the start entry
	To         string    `json:"to"`
	SubStatus  string    `json:"sub_status,omitempty"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Note       string    `json:"note,omitempty"`
	Trigger    Trigger   `json:"trigger"`
}

// Store keeps current records and their histories. Implementations must be
// safe for concurrent use and pass storetest.Stage.
type Store interface {
	// Get returns the record for key, or an error wrapping
	// leadkit.ErrNotFound. A key that fails Key.Validate is an error
	// wrapping leadkit.ErrInvalid, in Get, History and Scan alike (for
	// Scan, ValidatePipeline).
	Get(ctx context.Context, key Key) (Record, error)
	// Commit atomically writes rec and appends e to its history, where
	// rec.Version == e.Version. Version 1 creates the record and fails with
	// leadkit.ErrConflict if it exists; a later version succeeds only if the
	// stored version is rec.Version-1, otherwise it fails with
	// leadkit.ErrConflict and writes nothing.
	Commit(ctx context.Context, rec Record, e Entry) error
	// History returns the entries of key in version order (empty, not an
	// error, for an unknown key).
	History(ctx context.Context, key Key) ([]Entry, error)
	// Scan calls fn for every record of the pipeline, in no set order; an
	// error from fn stops the scan and is returned. fn may call the store.
	// A canceled context stops the scan with ctx.Err().
	Scan(ctx context.Context, pipeline string, fn func(Record) error) error
	// Rewind atomically removes the entries of rec.Key after version
	// rec.Version and writes rec, the record as it stood after that entry,
	// provided the stored version is from; otherwise it fails with
	// leadkit.ErrConflict and writes nothing. rec.Version 0 removes the
	// record and its whole history. Only Machine.Rewind calls it (see
	// there); ValidateRewind gives the checks every backend makes.
	Rewind(ctx context.Context, rec Record, from int64) error
}

// HistoryScanner is an optional Store feature: stream every history of a
// pipeline in one pass. Funnels use it when present and fall back to Scan
// plus History otherwise.
type HistoryScanner interface {
	ScanHistories(ctx context.Context, pipeline string, fn func(Key, []Entry) error) error
}

// Validate checks a key against the caps: a pipeline name and a subject
// kind of at most leadkit.MaxNameBytes, a subject ID of at most
// leadkit.MaxIDBytes, none empty, all valid UTF-8 without NUL bytes. The
// error wraps leadkit.ErrInvalid. Every Store refuses such a key on reads
// as on writes, so backends answer alike.
func (k Key) Validate() error {
	if err := k.validate(); err != nil {
		return fmt.Errorf("stage: key: %w: %v", leadkit.ErrInvalid, err)
	}
	return nil
}

// ValidatePipeline checks a pipeline name as [Key.Validate] does; Stores
// call it in Scan.
func ValidatePipeline(name string) error {
	if name == "" {
		return fmt.Errorf("stage: %w: pipeline is empty", leadkit.ErrInvalid)
	}
	if msg := leadkit.CheckText(name, leadkit.MaxNameBytes); msg != "" {
		return fmt.Errorf("stage: %w: pipeline %s", leadkit.ErrInvalid, msg)
	}
	return nil
}

func (k Key) validate() error {
	for _, f := range []struct {
		what, v string
		max     int
	}{{"pipeline", k.Pipeline, leadkit.MaxNameBytes}, {"subject kind", string(k.Kind), leadkit.MaxNameBytes}, {"subject ID", k.ID, leadkit.MaxIDBytes}} {
		if f.v == "" {
			return fmt.Errorf("%s is empty", f.what)
		}
		if msg := leadkit.CheckText(f.v, f.max); msg != "" {
			return fmt.Errorf("%s %s", f.what, msg)
		}
	}
	return nil
}

// ValidateCommit checks what a Store is asked to commit, so that every
// backend accepts and refuses the same input: a valid key (see Key); the
// record's version at least 1 and equal to the entry's, with the same key;
// a stage name (the record's, which the entry moves to) that is not empty;
// names (stages, transition, sub-status, reason, trigger) of at most
// leadkit.MaxNameBytes, the actor at most leadkit.MaxIDBytes and the note at
// most leadkit.MaxStringBytes, all valid UTF-8 without NUL bytes; and times
// in leadkit's range. The error wraps leadkit.ErrInvalid.
func ValidateCommit(rec Record, e Entry) error {
	return checkCommit("commit", rec, e)
}

// checkCommit is ValidateCommit for the operation op.
func checkCommit(op string, rec Record, e Entry) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("stage: %s: %w: %s", op, leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if err := rec.Key.validate(); err != nil {
		return bad("%v", err)
	}
	if e.Key != rec.Key {
		return bad("the entry's key differs from the record's")
	}
	if rec.Version < 1 || e.Version != rec.Version {
		return bad("record version %d, entry version %d (both must be the same, at least 1)", rec.Version, e.Version)
	}
	if rec.Stage == "" {
		return bad("the record has no stage")
	}
	if e.To != rec.Stage || e.SubStatus != rec.SubStatus {
		return bad("the entry moves to %q/%q but the record is in %q/%q", e.To, e.SubStatus, rec.Stage, rec.SubStatus)
	}
	for _, f := range []struct {
		what, v string
		max     int
	}{
		{"stage", rec.Stage, leadkit.MaxNameBytes}, {"sub-status", rec.SubStatus, leadkit.MaxNameBytes},
		{"from stage", e.From, leadkit.MaxNameBytes}, {"transition", e.Transition, leadkit.MaxNameBytes},
		{"reason", e.Reason, leadkit.MaxNameBytes}, {"trigger", string(e.Trigger), leadkit.MaxNameBytes},
		{"actor", e.Actor, leadkit.MaxIDBytes}, {"note", e.Note, leadkit.MaxStringBytes},
	} {
		if msg := leadkit.CheckText(f.v, f.max); msg != "" {
			return bad("%s %s", f.what, msg)
		}
	}
	for _, t := range []struct {
		what string
		v    time.Time
	}{{"entered_at", rec.EnteredAt}, {"updated_at", rec.UpdatedAt}, {"entry time", e.At}} {
		if !leadkit.ValidTime(t.v) {
			return bad("%s %s is outside %s", t.what, t.v.UTC().Format(time.RFC3339), leadkit.TimeRange)
		}
	}
	return nil
}

// ValidateRewind checks what a Store is asked to rewind, so that every
// backend accepts and refuses the same input: a valid key; 0 <= rec.Version
// < from; and for rec.Version > 0 a record ValidateCommit would accept. The
// error wraps leadkit.ErrInvalid.
func ValidateRewind(rec Record, from int64) error {
	if err := rec.Key.validate(); err != nil {
		return fmt.Errorf("stage: rewind: %w: %v", leadkit.ErrInvalid, err)
	}
	if rec.Version < 0 || rec.Version >= from {
		return fmt.Errorf("stage: rewind: %w: to version %d from version %d (want 0 <= to < from)", leadkit.ErrInvalid, rec.Version, from)
	}
	if rec.Version == 0 {
		return nil
	}
	e := Entry{Key: rec.Key, Version: rec.Version, To: rec.Stage, SubStatus: rec.SubStatus, At: rec.UpdatedAt}
	return checkCommit("rewind", rec, e)
}

// MemoryStore is the in-memory Store used when Options.Store is nil. It is
// safe for concurrent use. Records are sharded by key to keep writers to
// different subjects from contending. A MemoryStore is bound to one tenant
// (leadkit.DefaultTenant from NewMemoryStore); ForTenant gives views of
// the same storage bound to others, which never see each other's records.
type MemoryStore struct {
	*memData // the tenant's records
	tenant   string
	all      *tenants.Set[memData]
}

type memData struct {
	shards [32]memShard
}

type memShard struct {
	mu   sync.RWMutex
	data map[Key]*memItem
}

type memItem struct {
	rec     Record
	history []Entry
}

var (
	_ Store                              = (*MemoryStore)(nil)
	_ HistoryScanner                     = (*MemoryStore)(nil)
	_ leadkit.TenantScoped[*MemoryStore] = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty in-memory store bound to
// leadkit.DefaultTenant.
func NewMemoryStore() *MemoryStore {
	all := tenants.New(func() *memData {
		d := &memData{}
		for i := range d.shards {
			d.shards[i].data = map[Key]*memItem{}
		}
		return d
	})
	d, _ := all.Get(leadkit.DefaultTenant)
	return &MemoryStore{memData: d, tenant: leadkit.DefaultTenant, all: all}
}

// Tenant returns the tenant the store is bound to.
func (s *MemoryStore) Tenant() string { return s.tenant }

// ForTenant returns the same storage bound to tenant (see
// leadkit.TenantScoped).
func (s *MemoryStore) ForTenant(tenant string) (*MemoryStore, error) {
	d, err := s.all.Get(tenant)
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	return &MemoryStore{memData: d, tenant: tenant, all: s.all}, nil
}

func (s *memData) shard(k Key) *memShard {
	// FNV-1a over the key's strings.
	h := uint32(2166136261)
	for _, str := range [...]string{k.Pipeline, string(k.Kind), k.ID} {
		for i := 0; i < len(str); i++ {
			h ^= uint32(str[i])
			h *= 16777619
		}
		h ^= 0xff
		h *= 16777619
	}
	return &s.shards[h%uint32(len(s.shards))]
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, key Key) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	if err := key.Validate(); err != nil {
		return Record{}, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	it, ok := sh.data[key]
	if !ok {
		return Record{}, fmt.Errorf("stage: %s in pipeline %q: %w", key.Subject, key.Pipeline, leadkit.ErrNotFound)
	}
	return it.rec, nil
}

// Commit implements Store.
func (s *MemoryStore) Commit(ctx context.Context, rec Record, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateCommit(rec, e); err != nil {
		return err
	}
	// Times as every store keeps them.
	rec.EnteredAt, rec.UpdatedAt, e.At = rec.EnteredAt.Truncate(leadkit.TimePrecision), rec.UpdatedAt.Truncate(leadkit.TimePrecision), e.At.Truncate(leadkit.TimePrecision)
	sh := s.shard(rec.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it, ok := sh.data[rec.Key]
	var have int64
	if ok {
		have = it.rec.Version
	}
	if have != rec.Version-1 {
		return fmt.Errorf("stage: commit %s version %d: stored version is %d: %w", rec.Subject, rec.Version, have, leadkit.ErrConflict)
	}
	if !ok {
		it = &memItem{}
		sh.data[rec.Key] = it
	}
	it.rec = rec
	it.history = append(it.history, e)
	return nil
}

// Rewind implements Store.
func (s *MemoryStore) Rewind(ctx context.Context, rec Record, from int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateRewind(rec, from); err != nil {
		return err
	}
	sh := s.shard(rec.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it, ok := sh.data[rec.Key]
	if !ok || it.rec.Version != from {
		var have int64
		if ok {
			have = it.rec.Version
		}
		return fmt.Errorf("stage: rewind %s from version %d: stored version is %d: %w", rec.Subject, from, have, leadkit.ErrConflict)
	}
	if rec.Version == 0 {
		delete(sh.data, rec.Key)
		return nil
	}
	it.rec = rec
	it.history = slices.Clip(it.history[:rec.Version]) // a later append must not write over a copy handed out
	return nil
}

// History implements Store.
func (s *MemoryStore) History(ctx context.Context, key Key) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := key.Validate(); err != nil {
		return nil, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if it, ok := sh.data[key]; ok {
		return slices.Clone(it.history), nil
	}
	return []Entry{}, nil
}

// Scan implements Store. It works on a snapshot, so fn may call the store.
func (s *MemoryStore) Scan(ctx context.Context, pipeline string, fn func(Record) error) error {
	return s.scan(ctx, pipeline, func(it *memItem) error { return fn(it.rec) })
}

// ScanHistories implements HistoryScanner.
func (s *MemoryStore) ScanHistories(ctx context.Context, pipeline string, fn func(Key, []Entry) error) error {
	return s.scan(ctx, pipeline, func(it *memItem) error { return fn(it.rec.Key, it.history) })
}

func (s *MemoryStore) scan(ctx context.Context, pipeline string, fn func(*memItem) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidatePipeline(pipeline); err != nil {
		return err
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		items := make([]memItem, 0, len(sh.data))
		for k, it := range sh.data {
			if k.Pipeline == pipeline {
				items = append(items, memItem{rec: it.rec, history: slices.Clone(it.history)})
			}
		}
		sh.mu.RUnlock()
		sort.Slice(items, func(a, b int) bool { return lessKey(items[a].rec.Key, items[b].rec.Key) })
		for j := range items {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(&items[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

func lessKey(a, b Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.ID < b.ID
}
