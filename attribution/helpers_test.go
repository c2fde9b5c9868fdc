package attribution

import (
	"math/rand/v2"
	"strconv"
)

// randomPaths makes n deterministic synthetic paths over m channels named
// c0..c(m-1): lengths 1..maxLen, repeats and cycles allowed, integer
// conversions 0..3 with a value of 1..50 each, nulls 0..5.
func randomPaths(seed uint64, n, m, maxLen int) []Path {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	names := make([]string, m)
	for i := range names {
		names[i] = "c" + strconv.Itoa(i)
	}
	out := make([]Path, 0, n)
	for range n {
		l := 1 + r.IntN(maxLen)
		ch := make([]string, l)
		for i := range ch {
			if i > 0 && r.IntN(4) == 0 {
				ch[i] = ch[i-1] // a consecutive repeat
			} else {
				ch[i] = names[r.IntN(m)]
			}
		}
		p := Path{Channels: ch, Conversions: float64(r.IntN(4)), Nulls: float64(r.IntN(6))}
		for range int(p.Conversions) {
			p.Value += float64(1 + r.IntN(50))
		}
		out = append(out, p)
	}
	return out
}

func sumOf(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}
