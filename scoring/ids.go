package scoring

import (
	"hash/maphash"
	"math/bits"

	"github.com/leadkit/leadkit"
)

// The repeated-event-ID check of checkEvents: an open-addressing table of
// event indices keyed by ID. IDs are first hashed cheaply (their length
// and their first and last 8 bytes, which is all of an ID up to 16 bytes),
// with a budget of probes linear in the number of events. IDs that differ
// only in the middle collide under that hash; when they use up the budget,
// the table is rebuilt with the full hash (every byte). Both hashes are
// seeded per process, so colliding IDs cannot be prepared in advance for
// the full hash, and the work stays linear for any IDs.

// idSeed, idSeed2 seed the hashes of the repeated-ID check: random per
// process.
var (
	idSeed  = maphash.String(maphash.MakeSeed(), "leadkit") | 1
	idSeed2 = maphash.String(maphash.MakeSeed(), "leadkit") | 1
)

// idSlot is a slot of the repeated-ID table.
type idSlot struct {
	idx int32  // index+1 of the event; 0: empty
	fp  uint32 // high bits of the ID's hash
}

// le64 reads the first 8 bytes of s, little-endian.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// le32 reads the first 4 bytes of s, little-endian.
func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// mum multiplies to 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// quickHash hashes an event ID by its length and its first and last 8
// bytes (4 bytes, or 3 single bytes, for IDs shorter than 8): every byte
// of an ID up to 16 bytes, only those of longer ones.
func quickHash(s string) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n >= 8:
		a, b = le64(s), le64(s[n-8:])
	case n >= 4:
		a, b = le32(s), le32(s[n-4:])
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	return mum(mum(a^idSeed, b^idSeed2)^uint64(n), idSeed^0x9E3779B97F4A7C15)
}

// idHash hashes every byte of an event ID, 8 bytes at a time.
func idHash(s string) uint64 {
	h := idSeed ^ uint64(len(s))*0x9E3779B97F4A7C15
	for len(s) >= 8 {
		h = (h ^ le64(s)) * 0xff51afd7ed558ccd
		h ^= h >> 32
		s = s[8:]
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v |= uint64(s[i]) << (8 * i)
	}
	h = (h ^ v) * 0xc4ceb9fe1a85ec53
	return h ^ h>>29
}

// idBudget is the number of probes the quick hash may take for n events
// before the full hash takes over: about 3 times what random IDs need.
func idBudget(n int) int { return 4*n + 64 }

// idTable returns the cleared open-addressing table of the repeated-ID
// check for n events (at least 2n slots, a power of two).
func (sc *scratch) idTable(n int) []idSlot {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(sc.ids) < size {
		sc.ids = make([]idSlot, size)
	} else {
		sc.ids = sc.ids[:size]
		clear(sc.ids)
	}
	return sc.ids
}

// markRepeat marks event i in sc.dup (cleared on the first mark of a
// check, as *dups tells).
func (sc *scratch) markRepeat(i, n int, dups *bool) {
	if !*dups {
		*dups = true
		sc.dup = resetBools(sc.dup, n)
	}
	sc.dup[i] = true
}

// repeatsFull is the repeated-ID check with the full hash: it marks in
// sc.dup every event whose ID an earlier event has, and reports whether
// there is one.
func (sc *scratch) repeatsFull(evs []leadkit.Event) (dups bool) {
	ids := sc.idTable(len(evs))
	mask := uint64(len(ids) - 1)
	probes := 0
	for i := range evs {
		id := evs[i].ID
		if id == "" {
			continue
		}
		hash := idHash(id)
		fp := uint32(hash >> 32)
		for h := hash & mask; ; h = (h + 1) & mask {
			probes++
			slot := ids[h]
			if slot.idx == 0 {
				ids[h] = idSlot{idx: int32(i + 1), fp: fp}
				break
			}
			if slot.fp == fp && evs[slot.idx-1].ID == id {
				sc.markRepeat(i, len(evs), &dups)
				break
			}
		}
	}
	sc.idProbes += probes
	return dups
}
