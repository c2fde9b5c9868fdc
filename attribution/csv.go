package attribution

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/text"
)

// Default column names and separators of the ChannelAttribution table
// format.
const (
	DefaultPathColumn        = "path"
	DefaultConversionsColumn = "total_conversions"
	DefaultValueColumn       = "total_conversion_value"
	DefaultNullsColumn       = "total_null"
	DefaultDelimiter         = ';'
	DefaultSeparator         = ">"
)

// CSVOptions configures [ReadPaths]. The zero value reads the
// ChannelAttribution format: ';'-delimited, header
// "path;total_conversions;total_conversion_value;total_null", channels
// separated by ">".
type CSVOptions struct {
	// Delimiter separates the fields of a row; 0 means ';'.
	Delimiter rune `json:"delimiter,omitempty"`
	// Separator separates the channels inside the path field; "" means ">".
	Separator string `json:"separator,omitempty"`
	// PathColumn names the path column; "" means "path".
	PathColumn string `json:"path_column,omitempty"`
	// ConversionsColumn names the conversions column; "" means
	// "total_conversions".
	ConversionsColumn string `json:"conversions_column,omitempty"`
	// ValueColumn names the conversion value column. With the default name
	// ("total_conversion_value") the column is optional and a table
	// without it has zero values; a name set here must be present.
	ValueColumn string `json:"value_column,omitempty"`
	// NullsColumn names the non-converting count column, optional like
	// ValueColumn (default "total_null").
	NullsColumn string `json:"nulls_column,omitempty"`
}

// MaxRowBytes caps one row of a path table (a record: a quoted field may
// spread it over several lines), the header included. Every valid path
// fits: [MaxPathTouches] names of [leadkit.MaxNameBytes] joined by a
// separator of [MaxSeparatorBytes] take 2.7 MB. A longer row is skipped
// unread, without holding it in memory, and reported.
const MaxRowBytes = 4 << 20

// MaxSeparatorBytes caps [CSVOptions.Separator].
const MaxSeparatorBytes = 16

// maxRowBytes is MaxRowBytes; tests lower it.
var maxRowBytes = MaxRowBytes

func (o CSVOptions) withDefaults() (CSVOptions, error) {
	if o.Delimiter == 0 {
		o.Delimiter = DefaultDelimiter
	}
	if o.Separator == "" {
		o.Separator = DefaultSeparator
	}
	if o.PathColumn == "" {
		o.PathColumn = DefaultPathColumn
	}
	if o.ConversionsColumn == "" {
		o.ConversionsColumn = DefaultConversionsColumn
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("attribution: csv options: %w: "+format, append([]any{leadkit.ErrInvalid}, args...)...))
	}
	// Header cells are trimmed, so are the names looked up in them.
	for _, name := range []*string{&o.PathColumn, &o.ConversionsColumn, &o.ValueColumn, &o.NullsColumn} {
		if t := strings.TrimSpace(*name); t == "" && *name != "" {
			bad("column name %q is blank", *name)
		} else {
			*name = t
		}
	}
	d := o.Delimiter
	if !utf8.ValidRune(d) || d == utf8.RuneError || d == '"' || d == '\r' || d == '\n' {
		bad("delimiter %q is not usable", d)
	}
	if strings.ContainsRune(o.Separator, d) {
		bad("separator %q contains the delimiter %q", o.Separator, d)
	}
	if strings.TrimSpace(o.Separator) == "" || strings.ContainsAny(o.Separator, "\"\r\n") {
		bad("separator %q is not usable", o.Separator)
	} else if msg := leadkit.CheckText(o.Separator, MaxSeparatorBytes); msg != "" {
		bad("separator %q %s", text.Clip(o.Separator, 32), msg)
	}
	for _, name := range []string{o.PathColumn, o.ConversionsColumn, o.ValueColumn, o.NullsColumn} {
		if msg := leadkit.CheckText(name, leadkit.MaxNameBytes); msg != "" {
			bad("column name %q %s", text.Clip(name, 32), msg)
		}
	}
	names := []string{o.PathColumn, o.ConversionsColumn, o.ValueColumn, o.NullsColumn}
	for i, a := range names {
		for _, b := range names[i+1:] {
			if a != "" && strings.EqualFold(a, b) {
				bad("column %q named twice", a)
			}
		}
	}
	return o, errors.Join(errs...)
}

// ReadPaths reads a path table: a header row, then one path per row. The
// path column holds channel names joined by the separator; blanks around
// names are trimmed and empty tokens ("a > > b", a trailing ">") skipped.
// Rows need not be unique. Header names are matched case-insensitively and
// extra columns are ignored.
//
// Every row is checked: a row with the wrong number of fields or longer
// than [MaxRowBytes], a path with no channel or more than
// [MaxPathTouches], a channel name that is not valid UTF-8, holds a NUL
// byte or is longer than [leadkit.MaxNameBytes], a count that is not a
// decimal number, negative, NaN, infinite or over [MaxPathCount], or a
// value on a row without conversions is an error naming the line and
// column (*[CSVError]). ReadPaths reads to the end and returns the rows it
// could read together with an errors.Join of the problems (the first 20,
// then a count), so nothing is silently dropped. Two problems stop it
// early, with the rows read so far: an I/O error, and a table of more than
// [MaxPaths] rows.
func ReadPaths(r io.Reader, opts CSVOptions) ([]Path, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	lim := newRowLimiter(r, o.Delimiter, maxRowBytes)
	cr := csv.NewReader(lim)
	cr.Comma = o.Delimiter
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	tooLong := func(line int) *CSVError {
		return &CSVError{Line: line, Reason: fmt.Sprintf("row longer than %d bytes (MaxRowBytes)", maxRowBytes)}
	}

	header, err := cr.Read()
	headerLine := math.MaxInt // where the header starts (after any rows dropped)
	var pe *csv.ParseError
	switch {
	case err == nil:
		headerLine, _ = cr.FieldPos(0)
	case errors.As(err, &pe):
		headerLine = pe.StartLine
	}
	if len(lim.long) > 0 && lim.long[0] < headerLine {
		// The header, or a row csv would have taken for it, is too long.
		return nil, tooLong(lim.long[0])
	}
	if err == io.EOF {
		return nil, &CSVError{Line: 1, Reason: "empty input: no header"}
	}
	if err != nil {
		return nil, csvReadError(err, 1)
	}
	header = slices.Clone(header) // the reader reuses its record
	col := map[string]int{}
	dup := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		header[i] = h
		if _, ok := col[strings.ToLower(h)]; ok {
			dup[strings.ToLower(h)] = true
		}
		col[strings.ToLower(h)] = i
	}
	find := func(name string, required bool) (int, error) {
		if dup[strings.ToLower(name)] {
			return -1, &CSVError{Line: 1, Reason: fmt.Sprintf("column %q appears twice in the header", name)}
		}
		if i, ok := col[strings.ToLower(name)]; ok {
			return i, nil
		}
		if !required {
			return -1, nil
		}
		reason := fmt.Sprintf("missing column %q in header %q", name, text.Clip(strings.Join(header, string(o.Delimiter)), 200))
		if len(header) == 1 {
			reason += fmt.Sprintf(" (one column only: is the delimiter %q right?)", o.Delimiter)
		}
		return -1, &CSVError{Line: 1, Reason: reason}
	}
	pathCol, err1 := find(o.PathColumn, true)
	convCol, err2 := find(o.ConversionsColumn, true)
	valCol, err3 := find(or(o.ValueColumn, DefaultValueColumn), opts.ValueColumn != "")
	nullCol, err4 := find(or(o.NullsColumn, DefaultNullsColumn), opts.NullsColumn != "")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	nfields := len(header)

	var (
		paths  []Path
		errs   errorList
		rows   int
		names  = map[string]string{} // interned channel names, all valid
		tokens []string
	)
	report := func(e *CSVError) { errs.add(e) }
	// reportLong reports the rows the limiter dropped before line (all
	// of them when line < 0), keeping the errors in line order.
	reportLong := func(line int) {
		for len(lim.long) > 0 && (line < 0 || lim.long[0] < line) {
			report(tooLong(lim.long[0]))
			lim.long = lim.long[1:]
		}
	}
	line := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A quoting error: the reader has consumed the bad record
			// (an unclosed quote runs to the end of the input).
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				// An I/O error: reading on would repeat it.
				reportLong(-1)
				errs.errs = append(errs.errs, fmt.Errorf("attribution: csv line %d: %w", line+1, err))
				return paths, errs.err("csv row errors")
			}
			e := csvReadError(err, line+1)
			reportLong(e.Line)
			report(e)
			line = max(line, pe.Line)
			continue
		}
		line, _ = cr.FieldPos(0)
		reportLong(line)
		if rows++; rows > maxPaths {
			report(&CSVError{Line: line, Reason: fmt.Sprintf("more than %d rows (MaxPaths): split the table", maxPaths)})
			reportLong(-1)
			break
		}
		if len(rec) != nfields {
			report(&CSVError{Line: line, Reason: fmt.Sprintf("%d fields, header has %d", len(rec), nfields)})
			continue
		}
		rowOK := true
		num := func(i int) float64 {
			if i < 0 {
				return 0
			}
			s := strings.TrimSpace(rec[i])
			v, err := strconv.ParseFloat(s, 64)
			var reason string
			switch {
			case err != nil || strings.ContainsAny(s, "xX_"):
				// ParseFloat also reads Go's hexadecimal floats
				// (0x1p3) and digit separators (1_0); a table
				// holds decimal numbers only. Out of range ("1e400")
				// is an error of ParseFloat too.
				reason = fmt.Sprintf("%q is not a number", text.Clip(s, 64))
				if errors.Is(err, strconv.ErrRange) {
					reason = fmt.Sprintf("%q is out of range (the cap is %g)", text.Clip(s, 64), float64(MaxPathCount))
				}
			case math.IsNaN(v):
				reason = "NaN"
			case math.IsInf(v, 0):
				reason = "infinite"
			case v < 0:
				reason = fmt.Sprintf("negative count %s", text.Clip(s, 64))
			case v > MaxPathCount:
				reason = fmt.Sprintf("count %s is over the cap of %g (MaxPathCount)", text.Clip(s, 64), float64(MaxPathCount))
			}
			if reason != "" {
				report(&CSVError{Line: line, Column: i + 1, Field: header[i], Reason: reason})
				rowOK = false
			}
			return v
		}
		conv := num(convCol)
		val := num(valCol)
		nulls := num(nullCol)
		if rowOK && val != 0 && conv == 0 {
			report(&CSVError{Line: line, Column: valCol + 1, Field: header[valCol], Reason: "value on a row without conversions"})
			rowOK = false
		}
		tokens = tokens[:0]
		badPath := ""
		for rest, cut := rec[pathCol], true; cut; {
			var t string
			t, rest, cut = strings.Cut(rest, o.Separator)
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if len(tokens) == MaxPathTouches {
				badPath = fmt.Sprintf("more than %d touches (MaxPathTouches)", MaxPathTouches)
				break
			}
			n, ok := names[t]
			if !ok {
				if !channelOK(t) {
					badPath = fmt.Sprintf("touch %d: %s", len(tokens)+1, badChannel(t))
					break
				}
				n = strings.Clone(t)
				names[n] = n
			}
			tokens = append(tokens, n)
		}
		switch {
		case badPath != "":
			report(&CSVError{Line: line, Column: pathCol + 1, Field: header[pathCol], Reason: badPath})
			rowOK = false
		case len(tokens) == 0:
			report(&CSVError{Line: line, Column: pathCol + 1, Field: header[pathCol], Reason: fmt.Sprintf("empty path %q", text.Clip(rec[pathCol], 64))})
			rowOK = false
		}
		if !rowOK {
			continue
		}
		paths = append(paths, Path{
			Channels:    append([]string(nil), tokens...),
			Conversions: conv,
			Value:       val,
			Nulls:       nulls,
		})
	}
	reportLong(-1)
	return paths, errs.err("csv row errors")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// csvReadError turns an encoding/csv error into a *CSVError naming the line
// where the bad record starts; a quoted field left open runs to the end of
// the input, and the message says so.
func csvReadError(err error, line int) *CSVError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		start := pe.StartLine
		if start == 0 {
			start = pe.Line
		}
		reason := fmt.Sprintf("%v (line %d, byte column %d)", pe.Err, pe.Line, pe.Column)
		if errors.Is(pe.Err, csv.ErrQuote) && pe.Line > start {
			reason = fmt.Sprintf("%v: the quoted field runs to line %d", pe.Err, pe.Line)
		} else if pe.Line == start {
			reason = fmt.Sprintf("%v (byte column %d)", pe.Err, pe.Column)
		}
		return &CSVError{Line: start, Column: 0, Reason: reason}
	}
	return &CSVError{Line: line, Reason: err.Error()}
}
