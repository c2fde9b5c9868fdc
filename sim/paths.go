package sim

import (
	"bufio"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
)

// Truth runs the simulation once (the first call; later calls return a
// copy of the same value) and returns the planted effects and the
// realised rates. The caller owns the returned slices.
func (s *Sim) Truth() Truth {
	s.truthOnce.Do(func() {
		t := newTally(s, false)
		s.run(t, func(Record) bool { return true })
		s.truth = t.finish()
	})
	return s.truth.clone()
}

// maxRowValue is the most value WritePaths writes in one row, under
// attribution.MaxPathCount (1e15) with room for rounding.
const maxRowValue = 9e14

// WritePaths writes every lead's first journey as a path table in
// ChannelAttribution's format, the one attribution.ReadPaths reads with
// its zero options: ';'-delimited columns path, total_conversions,
// total_null and total_conversion_value; the path is the channels of the
// marketing touches in time order joined by " > ". A journey converts when
// the lead reaches MQL; its path is the touches up to then, and its value
// is the amount of the deal it won within the run (0 if none). Rows are
// sorted by path; a path whose deals add up to more than a row may hold
// (attribution.MaxPathCount) takes several rows, as the format allows. It
// runs the simulation once, holding the distinct paths in memory: nearly
// one per converted lead, so a run of tens of millions of leads writes
// more rows than attribution.ReadPaths takes (attribution.MaxPaths).
func (s *Sim) WritePaths(w io.Writer) error {
	t := newTally(s, true)
	s.run(t, func(Record) bool { return true })
	bw := bufio.NewWriter(w)
	bw.WriteString("path;total_conversions;total_null;total_conversion_value\n")
	var buf []byte
	row := func(path string, conv, nulls int, value float64) error {
		buf = append(buf[:0], path...)
		buf = append(buf, ';')
		buf = strconv.AppendInt(buf, int64(conv), 10)
		buf = append(buf, ';')
		buf = strconv.AppendInt(buf, int64(nulls), 10)
		buf = append(buf, ';')
		buf = strconv.AppendFloat(buf, value, 'f', -1, 64)
		buf = append(buf, '\n')
		_, err := bw.Write(buf)
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(t.paths)) {
		p := t.paths[k]
		// A path whose deals add up past what one row may hold is split
		// into rows of whole conversions, each with its share of the
		// value (a deal is at most MaxDealAmount, so each row stays
		// within the cap).
		n := max(1, int(math.Ceil(p.value/maxRowValue)))
		for n < p.conv && p.value*float64((p.conv+n-1)/n)/float64(p.conv) > maxRowValue {
			n++ // the largest row, ceil(conv/n) conversions, must fit too
		}
		for i := range n {
			conv := p.conv / n
			if i < p.conv%n {
				conv++
			}
			nulls, value := 0, p.value
			if i == 0 {
				nulls = p.nulls
			}
			if n > 1 {
				value = p.value * float64(conv) / float64(p.conv)
			}
			if err := row(k, conv, nulls, value); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}
