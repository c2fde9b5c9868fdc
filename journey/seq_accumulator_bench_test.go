package journey

import "testing"

// BenchmarkSequenceAccumulators adds the event-type paths of the "sim"
// business's first 100,000 leads to a PathAccumulator and a
// PatternAccumulator, one path per Add, and reports paths/s: the per-Add
// price of the accumulators (their Add should not allocate once the
// distinct paths are known).
func BenchmarkSequenceAccumulators(b *testing.B) {
	d := benchSims[0].load(b)
	seqs := make([][]string, min(100_000, len(d.timelines)))
	for i := range seqs {
		seqs[i] = Sequence(d.timelines[i], KeyType)
	}
	run := func(b *testing.B, add func([]string) error) {
		for _, s := range seqs { // the distinct paths, once: what is timed is the counting
			if err := add(s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			for _, s := range seqs {
				if err := add(s); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(seqs))*float64(b.N)/b.Elapsed().Seconds(), "paths/s")
	}
	b.Run("paths", func(b *testing.B) {
		a, err := NewPathAccumulator(PathOptions{CollapseRepeats: true})
		if err != nil {
			b.Fatal(err)
		}
		run(b, a.Add)
	})
	b.Run("patterns", func(b *testing.B) {
		a, err := NewPatternAccumulator(PatternOptions{CollapseRepeats: true})
		if err != nil {
			b.Fatal(err)
		}
		run(b, a.Add)
	})
}
