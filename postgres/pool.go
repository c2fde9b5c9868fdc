package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// PoolStore is a pool.Store in PostgreSQL: prospects as jsonb beside
// their version, an identity key table whose primary key makes each
// identity held by one prospect across processes, and the applied
// observations' marks. Apply writes in one transaction, rows in ID and
// key order (no deadlocks between writers of the same prospects).
type PoolStore struct {
	binding
	prospects, keys string
	marks           string
}

var (
	_ pool.Store                       = (*PoolStore)(nil)
	_ leadkit.TenantScoped[*PoolStore] = (*PoolStore)(nil)
)

// NewPoolStore returns a PoolStore on db, bound to o.Tenant, applying the
// migrations unless o.SkipMigrate is set.
func NewPoolStore(ctx context.Context, db DB, o Options) (*PoolStore, error) {
	b, p, err := open(ctx, db, o)
	if err != nil {
		return nil, err
	}
	return &PoolStore{binding: b, prospects: p + "prospects", keys: p + "prospect_keys", marks: p + "pool_marks"}, nil
}

// With returns the store on db instead, sharing its tables and tenant
// (see DB).
func (s *PoolStore) With(db DB) *PoolStore {
	return rebind(s, binding{db: db, tenant: s.tenant})
}

// ForTenant returns the store bound to tenant (see leadkit.TenantScoped).
func (s *PoolStore) ForTenant(tenant string) (*PoolStore, error) {
	b, err := s.forTenant(tenant)
	if err != nil {
		return nil, err
	}
	return rebind(s, b), nil
}

// Get implements pool.Store.
func (s *PoolStore) Get(ctx context.Context, id string) (pool.Prospect, error) {
	notFound := fmt.Errorf("postgres: prospect %q: %w", id, leadkit.ErrNotFound)
	if leadkit.CheckText(id, leadkit.MaxIDBytes) != "" {
		return pool.Prospect{}, notFound // nothing can be stored under it, as in memory
	}
	var b []byte
	err := s.readRow(ctx, `SELECT prospect FROM `+s.prospects+` WHERE `+tenantIs+` AND id = $1`, []any{id}, &b)
	if errors.Is(err, errNoRows) {
		return pool.Prospect{}, notFound
	}
	if err != nil {
		return pool.Prospect{}, fmt.Errorf("postgres: prospect %q: %w", id, dbErr(err))
	}
	return decodeProspect(b)
}

func decodeProspect(b []byte) (pool.Prospect, error) {
	var p pool.Prospect
	if err := json.Unmarshal(b, &p); err != nil {
		return pool.Prospect{}, fmt.Errorf("postgres: prospect: %w", err)
	}
	return p, nil
}

// Find implements pool.Store.
func (s *PoolStore) Find(ctx context.Context, keys []string) ([]pool.Prospect, error) {
	valid := make([]string, 0, len(keys))
	for _, k := range keys {
		if leadkit.CheckText(k, 1<<16) == "" {
			valid = append(valid, k)
		}
	}
	if len(valid) == 0 {
		return nil, nil
	}
	var out []pool.Prospect
	err := s.read(ctx, `SELECT p.prospect FROM `+s.prospects+` p
		WHERE p.`+tenantIs+` AND p.id IN (SELECT prospect_id FROM `+s.keys+` WHERE `+tenantIs+` AND key = ANY($1)) ORDER BY p.id`, []any{valid}, func(rs rows) error {
		for rs.Next() {
			var b []byte
			if err := rs.Scan(&b); err != nil {
				return err
			}
			p, err := decodeProspect(b)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: find prospects: %w", dbErr(err))
	}
	return out, nil
}

// Apply implements pool.Store.
func (s *PoolStore) Apply(ctx context.Context, obs pool.Mark, ps ...pool.Prospect) error {
	if err := pool.ValidateWrite(ps); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	// Keys given to two prospects of the write: refused before any I/O.
	claimed := map[string]string{}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
		if !p.Status.Indexed() {
			continue
		}
		for _, k := range p.Keys() {
			if other, ok := claimed[k]; ok && other != p.ID {
				return fmt.Errorf("postgres: identity %q is given to prospects %q and %q in one write: %w", k, other, p.ID, leadkit.ErrConflict)
			}
			claimed[k] = p.ID
		}
	}
	err := s.run(ctx, func(u unit) error {
		if obs.ID != "" {
			n, err := u.exec(ctx, `INSERT INTO `+s.marks+` (tenant, id, hash) VALUES ($tenant, $1, $2) ON CONFLICT DO NOTHING`, []byte(obs.ID), []byte(obs.Hash))
			if err != nil {
				return err
			}
			if n == 0 {
				var hash []byte
				if err := u.queryRow(ctx, `SELECT hash FROM `+s.marks+` WHERE `+tenantIs+` AND id = $1`, []byte(obs.ID)).Scan(&hash); err != nil {
					return err
				}
				if string(hash) != obs.Hash {
					return fmt.Errorf("observation %q: %w", obs.ID, pool.ErrReused)
				}
				return fmt.Errorf("observation %q: %w", obs.ID, pool.ErrSeen)
			}
		}
		// Lock the key rows this write touches (those it claims and those
		// its prospects hold) in one order before writing anything, so
		// that two writes handing keys over to each other wait instead of
		// deadlocking.
		keys := make([]string, 0, len(claimed))
		for k := range claimed {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.Sort(ids)
		lock, err := u.query(ctx, `SELECT key FROM `+s.keys+` WHERE `+tenantIs+` AND (key = ANY($1) OR prospect_id = ANY($2)) ORDER BY key FOR UPDATE`, keys, ids)
		if err != nil {
			return err
		}
		for lock.Next() {
		}
		lock.Close()
		if err = lock.Err(); err != nil {
			return err
		}
		order := slices.Clone(ps)
		slices.SortFunc(order, func(a, b pool.Prospect) int { return strings.Compare(a.ID, b.ID) })
		for _, p := range order {
			b, err := json.Marshal(p)
			if err != nil {
				return fmt.Errorf("prospect %q: %w: %v", p.ID, leadkit.ErrInvalid, err)
			}
			var n int64
			if p.Version == 1 {
				n, err = u.exec(ctx, `INSERT INTO `+s.prospects+` (tenant, id, version, status, prospect) VALUES ($tenant, $1, 1, $2, $3) ON CONFLICT DO NOTHING`, p.ID, string(p.Status), string(b))
			} else {
				n, err = u.exec(ctx, `UPDATE `+s.prospects+` SET version = $2, status = $3, prospect = $4 WHERE `+tenantIs+` AND id = $1 AND version = $2 - 1`, p.ID, p.Version, string(p.Status), string(b))
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("prospect %q version %d: %w", p.ID, p.Version, leadkit.ErrConflict)
			}
		}
		// The written prospects' keys are theirs alone now: drop their old
		// ones, then claim the new ones (a key another prospect holds is a
		// conflict: another writer claimed it first).
		if _, err = u.exec(ctx, `DELETE FROM `+s.keys+` WHERE `+tenantIs+` AND prospect_id = ANY($1)`, ids); err != nil {
			return err
		}
		for _, k := range keys {
			n, err := u.exec(ctx, `INSERT INTO `+s.keys+` (tenant, key, prospect_id) VALUES ($tenant, $1, $2) ON CONFLICT DO NOTHING`, k, claimed[k])
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("identity %q is held by another prospect: %w", k, leadkit.ErrConflict)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: apply: %w", dbErr(err))
	}
	return nil
}

// Scan implements pool.Store: the prospects in ID order, read a page of
// 500 at a time, so fn may call the store.
func (s *PoolStore) Scan(ctx context.Context, fn func(pool.Prospect) error) error {
	return scanPages(ctx, s.binding, s.prospects, "id", "prospect", func(p *pool.Prospect) string { return p.ID }, fn)
}
