package attribution

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/spec"
	"github.com/leadkit/leadkit/internal/text"
)

// Caps on a cost table ([CostTable], [ReadCosts], [NewCosts]).
const (
	// MaxCostRows caps the rows of a cost table (lifecycle.MaxCostRows is
	// the same cap).
	MaxCostRows = 10_000
	// MaxCostAmount caps a row's spend and its loaded cost per head.
	//
	// With MaxPeopleCost it keeps a row's cost (spend plus people cost)
	// at most 2e12, below 2^41, where float64 values are 1/4096 apart:
	// every amount of a row (spend, people cost, cost) is exact to the
	// cent. A sum of rows (a quarter of months, a total) is a float64
	// sum: always finite (a whole table adds up to at most 2e16), and
	// off by less than n x S x 3e-16 for n rows adding up to S (a
	// worst-case bound: roundings mostly cancel), so exact to the cent
	// while n x S stays under 1e13 (a thousand rows adding up to 1e10,
	// ten thousand to 1e9), and to about fifteen significant digits
	// beyond.
	MaxCostAmount = 1e12
	// MaxPeopleCost caps a row's people cost, Headcount x LoadedCost.
	MaxPeopleCost = 1e12
	// MaxHeadcount caps a row's headcount.
	MaxHeadcount = 1e6
	// MaxCostTableBytes caps the CSV input of [ReadCosts].
	MaxCostTableBytes = 4 << 20
)

// CostRow is what one key (a channel such as "webinar", or a function such
// as "events" or "sdr") cost in one calendar period: its spend (media,
// venues, tools) and its people, Headcount heads (full-time equivalents:
// 2.5 is fine) at LoadedCost each for the period (salary, benefits,
// overhead). The people cost is Headcount x LoadedCost.
type CostRow struct {
	// Key is the channel or function the row costs; at most
	// leadkit.MaxNameBytes of valid UTF-8, no NUL, and not a reserved
	// key: TotalKey ("(total)") or DefaultNoTouch ("(none)").
	Key string `json:"key"`
	// Period is the calendar period: its label as leadkit.Period.Cohort
	// writes it ("2026-Q1", "2026-03", "2026-W09", "2026-03-02", "2026"),
	// or, in a table whose Period is set, its first day ("2026-01-01"
	// for 2026-Q1).
	Period string `json:"period"`
	// Spend is the period's spend, 0 to MaxCostAmount.
	Spend float64 `json:"spend"`
	// Headcount is the people on the key in the period, 0 to
	// MaxHeadcount.
	Headcount float64 `json:"headcount,omitempty"`
	// LoadedCost is the cost of one head for the whole period, 0 to
	// MaxCostAmount; Headcount x LoadedCost is at most MaxPeopleCost.
	LoadedCost float64 `json:"loaded_cost,omitempty"`
}

// reservedKey says why key is reserved for a cost row, "" when it is not:
// [TotalKey] is the key of a report's totals; [DefaultNoTouch] (the
// pool's NoSource) names the leads and prospects without a channel, which
// no spend paid for.
func reservedKey(key string) string {
	switch key {
	case TotalKey:
		return fmt.Sprintf("%q is reserved: it is the key of the totals (TotalKey)", key)
	case DefaultNoTouch:
		return fmt.Sprintf("%q is reserved: it names the leads and prospects without a channel (DefaultNoTouch, pool.NoSource), which no spend paid for", key)
	}
	return ""
}

// UnmarshalJSON reads a row, taking a period written as a number (a year
// in YAML: "period: 2026") as its text.
func (r *CostRow) UnmarshalJSON(b []byte) error {
	type plain CostRow
	var j struct {
		*plain
		Period json.RawMessage `json:"period"`
	}
	j.plain = (*plain)(r)
	if err := spec.DecodeStrict(b, &j); err != nil {
		return spec.Prefixed("attribution: costs: ", err)
	}
	if len(j.Period) == 0 || string(j.Period) == "null" {
		return nil
	}
	if j.Period[0] != '"' {
		if _, err := strconv.ParseUint(string(j.Period), 10, 64); err != nil {
			return fmt.Errorf("attribution: costs: %w: period %s: want a label such as 2026-Q1", leadkit.ErrInvalid, text.Clip(string(j.Period), 64))
		}
		r.Period = string(j.Period)
		return nil
	}
	return json.Unmarshal(j.Period, &r.Period)
}

// PeopleCost is Headcount x LoadedCost.
func (r CostRow) PeopleCost() float64 { return float64(r.Headcount * r.LoadedCost) }

// Cost is the row's total cost: Spend + PeopleCost.
func (r CostRow) Cost() float64 { return r.Spend + r.PeopleCost() }

// CostTable is what each channel or function cost per calendar period:
// the input of [NewPeriodROIReport] and of the pool's acquisition cost. A
// key without a row in a period has an unknown cost there, which the
// reports say, never cost 0: write a row of 0 for a period without spend.
//
// It is data: [Parse] reads it from JSON or YAML, [ReadCosts] from CSV,
// and [NewCosts] validates it.
type CostTable struct {
	// Period is the calendar period of every row (month, quarter...). ""
	// means the one the rows' labels are written in.
	Period leadkit.Period `json:"period,omitempty"`
	// Rows are the costs, at most MaxCostRows, one per key and period.
	Rows []CostRow `json:"rows"`
}

// ParseCosts reads a [CostTable] from JSON or YAML (YAML is a superset of
// JSON) of at most [leadkit.MaxDocumentBytes], as [Parse] reads the other
// specs: unknown, miscased and duplicate keys are errors wrapping
// [leadkit.ErrInvalid]. It does not validate the values: [NewCosts] does.
//
//	period: quarter
//	rows:
//	  - {key: events, period: 2026-Q1, spend: 30000, headcount: 2, loaded_cost: 36000}
//	  - {key: paid, period: 2026-Q1, spend: 45000}
func ParseCosts(data []byte) (CostTable, error) { return Parse[CostTable](data) }

// Costs is a validated, indexed [CostTable]: every row's period resolved,
// no key and period twice. It is immutable and safe for concurrent use.
// Its Cost method is what the pool's acquisition cost reads (the interface
// pool.Costs).
type Costs struct {
	period leadkit.Period
	rows   []CostRow   // canonical labels
	starts []time.Time // each row's period start
	src    []int       // each row's index in the table given
	byKey  map[string]map[int64]int
	keys   []string
}

// NewCosts validates t and indexes it. Every problem is reported at once
// (the first 20, then a count), each wrapping [leadkit.ErrInvalid] and
// naming the row by its index, key and period: more than [MaxCostRows]
// rows, an unknown table period, a key that is empty or not a valid name,
// a period label that does not parse or is not of the table's period, a
// spend, headcount or loaded cost that is negative, NaN, infinite or over
// its cap ([MaxCostAmount], [MaxHeadcount]), a people cost over
// [MaxPeopleCost], a reserved key ([TotalKey], [DefaultNoTouch]), and a
// key and period given twice.
func NewCosts(t CostTable) (*Costs, error) {
	c, probs := checkCosts(t)
	if len(probs) == 0 {
		return c, nil
	}
	var errs errorList
	for _, p := range probs {
		if p.row < 0 {
			errs.add(fmt.Errorf("attribution: costs: %w: %s", leadkit.ErrInvalid, p.reason))
			continue
		}
		r := t.Rows[p.row]
		reason := p.reason
		if p.first >= 0 {
			reason += fmt.Sprintf(" (first in row %d)", p.first)
		}
		errs.add(fmt.Errorf("attribution: costs: %w: row %d (key %q, period %q): %s", leadkit.ErrInvalid, p.row, text.Clip(r.Key, 64), text.Clip(r.Period, 64), reason))
	}
	return nil, errs.err("cost row errors")
}

// Period returns the calendar period of the table's rows ("" for a table
// without rows and without a period).
func (c *Costs) Period() leadkit.Period {
	if c == nil {
		return leadkit.PeriodNone
	}
	return c.period
}

// Keys returns the keys with a row, sorted.
func (c *Costs) Keys() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.keys)
}

// Table returns the table, its period set and its labels as
// leadkit.Period.Cohort writes them.
func (c *Costs) Table() CostTable {
	if c == nil {
		return CostTable{}
	}
	return CostTable{Period: c.period, Rows: slices.Clone(c.rows)}
}

// Row returns the row of key in the period starting at start.
func (c *Costs) Row(key string, start time.Time) (CostRow, bool) {
	if c == nil {
		return CostRow{}, false
	}
	i, ok := c.byKey[key][startKey(start)]
	if !ok {
		return CostRow{}, false
	}
	return c.rows[i], true
}

// Cost returns what key cost over [start, end): the sum of its rows'
// costs (spend and people), and whether it is known: start and end must
// be period starts of the table, end after start, and every period
// between them must have a row of key. A month table gives a quarter's
// cost; a quarter table cannot give a month's.
//
// A cost that is not known may still be nothing to report: see
// [Costs.Missing] for when it makes a total unknown.
func (c *Costs) Cost(key string, start, end time.Time) (float64, bool) {
	if c == nil {
		return 0, false
	}
	rows := c.byKey[key]
	if rows == nil || !c.aligned(start) || !c.aligned(end) || !end.After(start) {
		return 0, false
	}
	sum := 0.0
	for s := start; s.Before(end); s = c.period.Next(s) {
		i, ok := rows[startKey(s)]
		if !ok {
			return 0, false
		}
		sum += c.rows[i].Cost()
	}
	return sum, true
}

// Missing reports whether key's cost over [start, end), a part of a
// range [from, to) being reported on (a bucket of the pool's metrics, a
// quarter of an ROI report), is missing from the table: key has a row in
// [from, to) but its cost over [start, end) is not known ([Costs.Cost]:
// a table period in it without a row of key, or bounds off the table's
// periods).
//
// This is the one rule of [NewPeriodROIReport] and of the pool's
// acquisition cost for a cost that is not known: a key with rows in the
// range must have all of them, and one missing makes the key's cost, and
// every total over [start, end) that counts it, unknown (never 0). A key
// without a row in [from, to) misses nothing: its cost is unknown only
// where something is charged to it (credit, prospects joining), and a
// period in which no key has a row has an unknown total.
func (c *Costs) Missing(key string, start, end, from, to time.Time) bool {
	if _, ok := c.Cost(key, start, end); ok {
		return false
	}
	return c.hasRows(key, from, to)
}

// hasRows reports whether key has a row whose period overlaps [from, to).
func (c *Costs) hasRows(key string, from, to time.Time) bool {
	if c == nil || c.period == leadkit.PeriodNone {
		return false
	}
	for _, i := range c.byKey[key] {
		s := c.starts[i]
		if s.Before(to) && c.period.Next(s).After(from) {
			return true
		}
	}
	return false
}

// gaps returns the starts of the periods subs (the table's periods of a
// report's span) in which key has no row.
func (c *Costs) gaps(key string, subs []time.Time) []time.Time {
	var out []time.Time
	for _, s := range subs {
		if _, has := c.byKey[key][startKey(s)]; !has {
			out = append(out, s)
		}
	}
	return out
}

// aligned reports whether t starts one of the table's periods.
func (c *Costs) aligned(t time.Time) bool {
	if c == nil || c.period == leadkit.PeriodNone || !leadkit.ValidTime(t) {
		return false
	}
	s, _ := c.period.Cohort(t)
	return s.Equal(t)
}

// rowProblem is one problem of a row: its index (-1: the whole table), the
// field (for CSV columns) and what is wrong; a key and period given twice
// names the row that first had them (first >= 0).
type rowProblem struct {
	row    int
	field  string
	reason string
	first  int
}

// checkCosts validates t and builds its index of the good rows; the
// problems say what is wrong where.
func checkCosts(t CostTable) (*Costs, []rowProblem) {
	if len(t.Rows) > MaxCostRows {
		return nil, []rowProblem{{row: -1, first: -1, reason: fmt.Sprintf("%d rows, more than %d (MaxCostRows): split the table", len(t.Rows), MaxCostRows)}}
	}
	period := t.Period
	if period != leadkit.PeriodNone && !period.Valid() {
		return nil, []rowProblem{{row: -1, first: -1, reason: fmt.Sprintf("table period %q is not a calendar period (want day, week, month, quarter or year)", text.Clip(string(period), 64))}}
	}
	if period == leadkit.PeriodNone {
		for _, r := range t.Rows {
			if p, _, err := leadkit.ParsePeriod(r.Period, leadkit.PeriodNone); err == nil {
				period = p // the first label that parses sets it
				break
			}
		}
	}
	var probs []rowProblem
	c := &Costs{period: period, byKey: map[string]map[int64]int{}}
	first := map[string]map[int64]int{} // key -> start -> index in t.Rows
	for i, r := range t.Rows {
		ok := true
		bad := func(field, format string, args ...any) {
			probs = append(probs, rowProblem{row: i, field: field, reason: fmt.Sprintf(format, args...), first: -1})
			ok = false
		}
		if r.Key == "" {
			bad("key", "no key")
		} else if msg := leadkit.CheckText(r.Key, leadkit.MaxNameBytes); msg != "" {
			bad("key", "key %s", msg)
		} else if msg := reservedKey(r.Key); msg != "" {
			bad("key", "key %s", msg)
		}
		_, start, err := leadkit.ParsePeriod(r.Period, period)
		if err != nil {
			bad("period", "%v", err)
		}
		for _, f := range [...]struct {
			field, name string
			v, max      float64
		}{{"spend", "spend", r.Spend, MaxCostAmount}, {"headcount", "headcount", r.Headcount, MaxHeadcount}, {"loaded_cost", "loaded cost", r.LoadedCost, MaxCostAmount}} {
			if reason := badAmount(f.v, f.max); reason != "" {
				bad(f.field, "%s %s", f.name, reason)
			}
		}
		if p := r.PeopleCost(); badAmount(r.Headcount, MaxHeadcount) == "" && badAmount(r.LoadedCost, MaxCostAmount) == "" && p > MaxPeopleCost {
			bad("loaded_cost", "people cost %g (headcount %g x loaded cost %g) is over the cap of %g (MaxPeopleCost)", p, r.Headcount, r.LoadedCost, float64(MaxPeopleCost))
		}
		if !ok {
			continue
		}
		k := startKey(start)
		if j, dup := first[r.Key][k]; dup {
			probs = append(probs, rowProblem{row: i, reason: fmt.Sprintf("key %q and period %q given twice", text.Clip(r.Key, 64), text.Clip(r.Period, 64)), first: j})
			continue
		}
		if first[r.Key] == nil {
			first[r.Key] = map[int64]int{}
			c.byKey[r.Key] = map[int64]int{}
			c.keys = append(c.keys, r.Key)
		}
		first[r.Key][k] = i
		_, r.Period = period.Cohort(start)
		c.byKey[r.Key][k] = len(c.rows)
		c.rows = append(c.rows, r)
		c.starts = append(c.starts, start)
		c.src = append(c.src, i)
	}
	slices.Sort(c.keys)
	return c, probs
}

// startKey indexes a period by its start (the zero time: the one uncut
// period of NewROIReport).
func startKey(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// badAmount says what is wrong with an amount, "" when it is finite, not
// negative and at most max.
func badAmount(v, max float64) string {
	switch {
	case math.IsNaN(v):
		return "is NaN"
	case math.IsInf(v, 0):
		return "is infinite"
	case v < 0:
		return fmt.Sprintf("%g is negative", v)
	case v > max:
		return fmt.Sprintf("%g is over the cap of %g", v, max)
	}
	return ""
}

// ReadCosts reads a cost table from CSV: a header row naming the columns
// key, period and spend, optionally headcount and loaded_cost (matched
// case-insensitively; other columns are ignored), then one row per key
// and period. The delimiter is the first of ',', ';' and tab that splits
// the header into its required columns. Period cells are labels
// ("2026-Q1"), or with period set, the first day of a period
// ("2026-01-01"); period "" takes the one the first label is written in.
// Headcount and loaded cost cells may be empty (0); spend may not: a key
// without spend in a period has a row of 0, a key without a row has an
// unknown cost.
//
// Every problem is reported at once as a *[CSVError] naming the line and
// column: a cell that is not a decimal number, is negative, NaN, infinite
// or over its cap, a people cost over its cap, a bad or reserved key, a
// bad period, a key and period given twice, a row with the wrong number
// of fields. The first 20 by line are reported one by one, the rest
// counted ("N more cost row errors"); only those 20 are kept while
// reading, so bad input costs no more than good. ReadCosts returns the
// good rows, their labels canonical and the table's period set, with the
// errors; input over [MaxCostTableBytes] or [MaxCostRows] rows is
// refused whole.
func ReadCosts(r io.Reader, period leadkit.Period) (CostTable, error) {
	if period != leadkit.PeriodNone && !period.Valid() {
		return CostTable{}, fmt.Errorf("attribution: costs: %w: period %q is not a calendar period (want day, week, month, quarter or year)", leadkit.ErrInvalid, text.Clip(string(period), 64))
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxCostTableBytes+1))
	if err != nil {
		return CostTable{}, fmt.Errorf("attribution: costs: %w", err)
	}
	if len(data) > MaxCostTableBytes {
		return CostTable{}, &CSVError{Line: 1, Reason: fmt.Sprintf("more than %d bytes (MaxCostTableBytes): split the table", MaxCostTableBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	head, _, _ := bytes.Cut(data, []byte{'\n'})
	delim := ','
	for _, d := range []rune{',', ';', '\t'} {
		cols := map[string]bool{}
		for _, h := range strings.Split(string(head), string(d)) {
			cols[strings.ToLower(strings.Trim(strings.TrimSpace(h), `"`))] = true
		}
		if cols["key"] && cols["period"] && cols["spend"] {
			delim = d
			break
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return CostTable{}, &CSVError{Line: 1, Reason: "empty input: no header"}
	}
	if err != nil {
		return CostTable{}, csvReadError(err, 1)
	}
	header = slices.Clone(header)
	col := map[string]int{"headcount": -1, "loaded_cost": -1}
	var errs errorList
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		header[i] = h
		if j, ok := col[h]; ok && j >= 0 {
			errs.add(&CSVError{Line: 1, Column: i + 1, Field: h, Reason: fmt.Sprintf("column %q appears twice in the header", text.Clip(h, 64))})
		}
		col[h] = i
	}
	for _, name := range []string{"key", "period", "spend"} {
		if _, ok := col[name]; !ok {
			errs.add(&CSVError{Line: 1, Reason: fmt.Sprintf("missing column %q in header %q (want key, period, spend, optionally headcount and loaded_cost)", name, text.Clip(strings.Join(header, string(delim)), 200))})
		}
	}
	if errs.failed() {
		return CostTable{}, errs.err("header errors")
	}

	var (
		rows     []CostRow
		lines    []int
		unparsed = map[int]bool{} // rows with a cell that is not a number
		// The first maxErrors problems found while reading (in line
		// order), and a count of the rest: a table of bad lines under
		// MaxCostTableBytes makes millions of them.
		found []*CSVError
		more  int
	)
	// keep says whether a problem is kept, counting it when it is not:
	// one only counted costs nothing.
	keep := func() bool {
		if len(found) < maxErrors {
			return true
		}
		more++
		return false
	}
	cr.ReuseRecord = true // the cells are copied out: strings
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if keep() {
				found = append(found, csvReadError(err, 0))
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rows) == MaxCostRows {
			return CostTable{}, &CSVError{Line: line, Reason: fmt.Sprintf("more than %d rows (MaxCostRows): split the table", MaxCostRows)}
		}
		if len(rec) != len(header) {
			if keep() {
				found = append(found, &CSVError{Line: line, Reason: fmt.Sprintf("%d fields, header has %d", len(rec), len(header))})
			}
			continue
		}
		ok := true
		num := func(name string, optional bool) float64 {
			i := col[name]
			if i < 0 {
				return 0
			}
			s := strings.TrimSpace(rec[i])
			if s == "" && optional {
				return 0
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || strings.ContainsAny(s, "xX_") {
				// Decimal numbers only: ParseFloat also reads hexadecimal
				// floats (0x1p3) and digit separators (1_0).
				if keep() {
					reason := fmt.Sprintf("%q is not a number", text.Clip(s, 64))
					switch {
					case s == "":
						reason = "empty: write 0 for no spend (a missing row is an unknown cost)"
					case errors.Is(err, strconv.ErrRange):
						reason = fmt.Sprintf("%q is out of range", text.Clip(s, 64))
					}
					found = append(found, &CSVError{Line: line, Column: i + 1, Field: name, Reason: reason})
				}
				ok = false
				v = 0 // reported: not checked again
			}
			return v
		}
		row := CostRow{
			Key:        strings.TrimSpace(rec[col["key"]]),
			Period:     strings.TrimSpace(rec[col["period"]]),
			Spend:      num("spend", false),
			Headcount:  num("headcount", true),
			LoadedCost: num("loaded_cost", true),
		}
		if !ok {
			// Checked for its other problems, then left out.
			unparsed[len(rows)] = true
		}
		rows = append(rows, row)
		lines = append(lines, line)
	}
	c, probs := checkCosts(CostTable{Period: period, Rows: rows})
	// At most MaxCostRows rows: their problems are few enough to keep.
	// Merged by line with those found reading, the first maxErrors are
	// reported one by one (a problem found reading and only counted lies
	// after every one kept), the rest counted.
	for _, p := range probs {
		e := &CSVError{Line: lines[p.row], Reason: p.reason}
		if i, ok := col[p.field]; ok && i >= 0 {
			e.Column, e.Field = i+1, p.field
		}
		if p.first >= 0 {
			e.Reason += fmt.Sprintf(" (first on line %d)", lines[p.first])
		}
		found = append(found, e)
	}
	slices.SortStableFunc(found, func(a, b *CSVError) int { return a.Line - b.Line })
	for _, e := range found {
		errs.add(e)
	}
	errs.more += more
	// The good rows with canonical labels: the index's.
	out := CostTable{Period: c.period}
	for i, r := range c.rows {
		if !unparsed[c.src[i]] {
			out.Rows = append(out.Rows, r)
		}
	}
	return out, errs.err("cost row errors")
}

// WriteCSV writes the table as ReadCosts reads it: key, period, spend,
// headcount, loaded_cost.
func (t CostTable) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"key", "period", "spend", "headcount", "loaded_cost"}); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range t.Rows {
		if err := cw.Write([]string{r.Key, r.Period, f(r.Spend), f(r.Headcount), f(r.LoadedCost)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
