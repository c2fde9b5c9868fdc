package sim

import (
	"bufio"
	"io"
	"maps"
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

// WritePaths writes every lead's first journey as a path table in
// ChannelAttribution's format, the one attribution.ReadPaths reads with
// its zero options: ';'-delimited columns path, total_conversions,
// total_null and total_conversion_value; the path is the channels of the
// marketing touches in time order joined by " > ". A journey converts when
// the lead reaches MQL; its path is the touches up to then, and its value
// is the amount of the deal it won within the run (0 if none). Rows are
// sorted by path. It runs the simulation once, holding the distinct paths
// in memory.
func (s *Sim) WritePaths(w io.Writer) error {
	t := newTally(s, true)
	s.run(t, func(Record) bool { return true })
	bw := bufio.NewWriter(w)
	bw.WriteString("path;total_conversions;total_null;total_conversion_value\n")
	var buf []byte
	for _, k := range slices.Sorted(maps.Keys(t.paths)) {
		p := t.paths[k]
		buf = append(buf[:0], k...)
		buf = append(buf, ';')
		buf = strconv.AppendInt(buf, int64(p.conv), 10)
		buf = append(buf, ';')
		buf = strconv.AppendInt(buf, int64(p.nulls), 10)
		buf = append(buf, ';')
		buf = strconv.AppendFloat(buf, p.value, 'f', -1, 64)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
