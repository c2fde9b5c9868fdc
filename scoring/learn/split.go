package learn

import (
	"math"
	"math/rand/v2"
)

// streamSplit is the PCG stream of the seed that chooses the hold-out.
const streamSplit = 0x6c6561726e000001

// Split returns the indices (ascending) of the training and the held-out
// examples that Fit uses for the hold-out share holdOut (clamped to
// [0, 1]) and seed. The examples of one lead (by Lead.ID; an example
// without an ID is a lead of its own) fall on the same side, so that a
// lead seen at two cut-offs cannot be learnt from and tested on. Leads
// that converted in some example and the others are held out in the same
// share (at least one of each kind that has two or more leads, never all
// of them), chosen by a PCG stream of seed: the same examples, share and
// seed give the same split on every machine.
func Split(examples []Example, holdOut float64, seed uint64) (train, test []int) {
	holdOut = max(0, min(1, holdOut))
	if math.IsNaN(holdOut) {
		holdOut = 0
	}
	group := make([]int, len(examples))
	byID := map[string]int{}
	var conv []bool
	for i := range examples {
		id := examples[i].Lead.ID
		g, ok := byID[id]
		if !ok || id == "" {
			g = len(conv)
			conv = append(conv, false)
			if id != "" {
				byID[id] = g
			}
		}
		group[i] = g
		conv[g] = conv[g] || examples[i].Converted
	}
	var pos, neg []int
	for g, c := range conv {
		if c {
			pos = append(pos, g)
		} else {
			neg = append(neg, g)
		}
	}
	r := rand.New(rand.NewPCG(seed, streamSplit))
	held := make([]bool, len(conv))
	for _, gs := range [][]int{pos, neg} {
		r.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
		k := int(math.Round(holdOut * float64(len(gs))))
		if len(gs) >= 2 && holdOut > 0 && holdOut < 1 {
			k = max(1, min(len(gs)-1, k))
		}
		for _, g := range gs[:k] {
			held[g] = true
		}
	}
	for i := range examples {
		if held[group[i]] {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test
}
