package attribution

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadPaths(t *testing.T) {
	in := "\uFEFFpath;total_conversions;total_conversion_value;total_null\n" +
		"seo > email >  ads ;1;0.25;3\n" +
		"a>>b> ;0;0;2\n" +
		"seo > email > ads;2;1.5;0\n" + // duplicate path: kept as its own row
		"\"x;y > z\";1e1;20;0\n"
	paths, err := ReadPaths(strings.NewReader(in), CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, []Path{
		{Channels: []string{"seo", "email", "ads"}, Conversions: 1, Value: 0.25, Nulls: 3},
		{Channels: []string{"a", "b"}, Nulls: 2},
		{Channels: []string{"seo", "email", "ads"}, Conversions: 2, Value: 1.5},
		{Channels: []string{"x;y", "z"}, Conversions: 10, Value: 20},
	}, paths)
}

func TestReadPathsOptions(t *testing.T) {
	// Custom delimiter, separator and names; case-insensitive header; an
	// extra column; value column absent (optional by default).
	in := "Journey,Conv,Lost,note\nseo | ads,3,1,x\n"
	paths, err := ReadPaths(strings.NewReader(in), CSVOptions{
		Delimiter: ',', Separator: "|", PathColumn: "journey", ConversionsColumn: "conv", NullsColumn: "lost",
	})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"seo", "ads"}, Conversions: 3, Nulls: 1}}, paths)

	// Only the two required columns.
	paths, err = ReadPaths(strings.NewReader("path;total_conversions\na;1\n"), CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"a"}, Conversions: 1}}, paths)

	// A value column named explicitly must exist.
	_, err = ReadPaths(strings.NewReader("path;total_conversions\na;1\n"), CSVOptions{ValueColumn: "revenue"})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `missing column "revenue"`)
}

func TestReadPathsErrors(t *testing.T) {
	const head = "path;total_conversions;total_conversion_value;total_null\n"
	tests := []struct {
		name, in string
		opts     CSVOptions
		want     []string // every message expected in the error
		rows     int      // good rows still returned
	}{
		{"empty input", "", CSVOptions{}, []string{"csv line 1: empty input"}, 0},
		{"wrong delimiter", "path,total_conversions\na,1\n", CSVOptions{},
			[]string{`csv line 1: missing column "path"`, "is the delimiter ';' right?"}, 0},
		{"negative", head + "a;1;1;0\nb;-1;0;0\n", CSVOptions{},
			[]string{"csv line 3, column 2 (total_conversions): negative count -1"}, 1},
		{"nan and inf", head + "a;NaN;0;0\nb;1;0;+Inf\n", CSVOptions{},
			[]string{"csv line 2, column 2 (total_conversions): NaN", "csv line 3, column 4 (total_null): infinite"}, 0},
		{"not a number", head + "a;one;0;0\n", CSVOptions{},
			[]string{`csv line 2, column 2 (total_conversions): "one" is not a number`}, 0},
		{"empty number", head + "a;;0;0\n", CSVOptions{},
			[]string{`line 2, column 2 (total_conversions): "" is not a number`}, 0},
		{"empty path", head + " > > ;1;0;0\na;1;0;0\n", CSVOptions{},
			[]string{`csv line 2, column 1 (path): empty path " > > "`}, 1},
		{"field count", head + "a;1;0\nb;1;0;0;9\nc;1;0;0\n", CSVOptions{},
			[]string{"csv line 2: 3 fields, header has 4", "csv line 3: 5 fields, header has 4"}, 1},
		{"value without conversions", head + "a;0;5;1\n", CSVOptions{},
			[]string{"csv line 2, column 3 (total_conversion_value): value on a row without conversions"}, 0},
		{"bare quote", head + "a\"b;1;0;0\nc;1;0;0\n", CSVOptions{},
			[]string{"csv line 2: bare \" in non-quoted-field"}, 1},
		{"bad options", head, CSVOptions{Delimiter: '"', Separator: " "},
			[]string{`delimiter '"' is not usable`, `separator " " is not usable`}, 0},
		{"separator holds delimiter", head, CSVOptions{Separator: ";"},
			[]string{`separator ";" contains the delimiter ';'`}, 0},
		{"duplicate header column", "path;total_conversions;PATH\n", CSVOptions{},
			[]string{`csv line 1: column "path" appears twice in the header`}, 0},
		{"column named twice", head, CSVOptions{PathColumn: "x", ConversionsColumn: "X"},
			[]string{`column "x" named twice`}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths, err := ReadPaths(strings.NewReader(tc.in), tc.opts)
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, paths, tc.rows)
		})
	}
}

func TestReadPathsCSVErrorFields(t *testing.T) {
	_, err := ReadPaths(strings.NewReader("path;total_conversions\na;x\n"), CSVOptions{})
	var ce *CSVError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CSVError{Line: 2, Column: 2, Field: "total_conversions", Reason: `"x" is not a number`}, *ce)
}

func TestReadPathsManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("path;total_conversions\n")
	for range 30 {
		b.WriteString("a;-1\n")
	}
	_, err := ReadPaths(strings.NewReader(b.String()), CSVOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "csv line 21,")
	assert.NotContains(t, err.Error(), "csv line 22,")
	assert.Contains(t, err.Error(), "attribution: leadkit: invalid input: 10 more csv row errors")
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		f.n++
		return copy(p, "path;total_conversions\na;1\n"), nil
	}
	return 0, errors.New("disk on fire")
}

func TestReadPathsIOError(t *testing.T) {
	paths, err := ReadPaths(&failingReader{}, CSVOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	assert.Len(t, paths, 1)
}

// writePaths writes paths in the format o describes (the inverse of
// ReadPaths with o; the value column under its default name unless set).
func writePaths(w io.Writer, paths []Path, o CSVOptions) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = o.Delimiter
	header := []string{o.PathColumn, o.ConversionsColumn, or(o.ValueColumn, DefaultValueColumn), or(o.NullsColumn, DefaultNullsColumn)}
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, p := range paths {
		if err := cw.Write([]string{strings.Join(p.Channels, o.Separator), f(p.Conversions), f(p.Value), f(p.Nulls)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FuzzReadPaths checks, for any input and any options (delimiter,
// separator, path and conversions column names), that ReadPaths never
// panics, that every error it returns wraps ErrInvalid, that every path it
// returns is valid with trimmed, non-empty channel names free of the
// separator, and that writing the paths back in the same format and
// reading them again gives the same paths.
func FuzzReadPaths(f *testing.F) {
	f.Add([]byte("path;total_conversions;total_conversion_value;total_null\na > b;1;2.5;3\n"), ';', ">", "", "")
	f.Add([]byte("path;total_conversions\n > ;1\n"), ';', "", "", "")
	f.Add([]byte("path;total_conversions;total_null\n\"a;b\" > c;NaN;-1\n"), ';', ">", "path", "total_conversions")
	f.Add([]byte("Journey,Conv\nseo | ads,3\n\"x,y\"|z,0x1p3\n"), ',', "|", "journey", "conv")
	f.Add([]byte("p\tc\na -> b -> c\t2\n"), '\t', "->", "p", "c")
	f.Fuzz(func(t *testing.T, data []byte, delim rune, sep, pathCol, convCol string) {
		opts := CSVOptions{Delimiter: delim, Separator: sep, PathColumn: pathCol, ConversionsColumn: convCol}
		paths, err := ReadPaths(bytes.NewReader(data), opts)
		if err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		if err := ValidatePaths(paths); err != nil {
			t.Fatalf("returned invalid paths: %v", err)
		}
		o, oerr := opts.withDefaults()
		if oerr != nil {
			if len(paths) > 0 {
				t.Fatalf("bad options %+v but %d paths", opts, len(paths))
			}
			return
		}
		for _, p := range paths {
			for _, c := range p.Channels {
				if c != strings.TrimSpace(c) || strings.Contains(c, o.Separator) {
					t.Fatalf("channel %q not trimmed or holds the separator %q", c, o.Separator)
				}
			}
			if j := strings.Join(p.Channels, o.Separator); !slices.Equal(strings.Split(j, o.Separator), p.Channels) {
				return // names that run into the separator when joined cannot round-trip
			}
		}
		// encoding/csv normalises \r\n inside quoted fields; names holding
		// a carriage return cannot round-trip.
		cr := bytes.ContainsRune(data, '\r') || strings.ContainsRune(o.PathColumn+o.ConversionsColumn, '\r')
		var buf bytes.Buffer
		if err := writePaths(&buf, paths, opts); err != nil {
			t.Fatal(err)
		}
		again, err := ReadPaths(&buf, opts)
		if err != nil {
			if cr {
				return
			}
			t.Fatalf("re-reading written paths: %v", err)
		}
		if len(again) != len(paths) {
			t.Fatalf("round trip: %d paths, want %d", len(again), len(paths))
		}
		for i := range paths {
			a, b := paths[i], again[i]
			if !slices.Equal(a.Channels, b.Channels) || a.Conversions != b.Conversions || a.Value != b.Value || a.Nulls != b.Nulls {
				if cr {
					return
				}
				t.Fatalf("round trip: %+v != %+v", a, b)
			}
		}
	})
}

// TestReadPathsUnclosedQuote: the quote opened on line 3 is never closed,
// so the field runs to the end of the input (line 5). The error must name
// line 3, where the bad field starts.
func TestReadPathsUnclosedQuote(t *testing.T) {
	in := "path;total_conversions\na;1\n\"b;2\nc;3\nd;4\n"
	paths, err := ReadPaths(strings.NewReader(in), CSVOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	var ce *CSVError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.Line, err.Error())
	assert.Contains(t, err.Error(), "csv line 3:")
	assert.Contains(t, err.Error(), "quoted field runs to line 5")
	assert.Len(t, paths, 1)
}

// TestReadPathsNumberSyntax: strconv.ParseFloat also reads Go literals
// (hexadecimal floats, digit separators); a path table must not.
func TestReadPathsNumberSyntax(t *testing.T) {
	for _, s := range []string{"0x1p3", "0X10p0", "1_0", "0x_1p0", "1__0"} {
		_, err := ReadPaths(strings.NewReader("path;total_conversions\na;"+s+"\n"), CSVOptions{})
		require.ErrorIs(t, err, leadkit.ErrInvalid, s)
		assert.Contains(t, err.Error(), `csv line 2, column 2 (total_conversions): "`+s+`" is not a number`)
	}
	paths, err := ReadPaths(strings.NewReader("path;total_conversions\na;1.5e2\nb;.5\nc;+3\n"), CSVOptions{})
	require.NoError(t, err)
	assert.Equal(t, []float64{150, 0.5, 3}, []float64{paths[0].Conversions, paths[1].Conversions, paths[2].Conversions})
}

// TestReadPathsPaddedColumnNames: header cells are trimmed, so configured
// names are too (found by FuzzReadPaths: " 00000" never matched); a name
// of blanks only is an error, not the default.
func TestReadPathsPaddedColumnNames(t *testing.T) {
	paths, err := ReadPaths(strings.NewReader("journey ; conv\na;1\n"), CSVOptions{PathColumn: " journey", ConversionsColumn: "conv "})
	require.NoError(t, err)
	assert.Equal(t, []Path{{Channels: []string{"a"}, Conversions: 1}}, paths)
	_, err = ReadPaths(strings.NewReader("path;total_conversions\na;1\n"), CSVOptions{NullsColumn: "  "})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `attribution: csv options: leadkit: invalid input: column name "  " is blank`)
}

// TestReadPathsCaps: every number read is finite and at most MaxPathCount
// (1e308 used to sum to +Inf in every model), channel names are valid
// text of at most leadkit.MaxNameBytes, a path has at most MaxPathTouches
// touches. Each bad row is reported with its line and column; the other
// rows are still read.
func TestReadPathsCaps(t *testing.T) {
	const head = "path;total_conversions;total_conversion_value;total_null\n"
	long := strings.Repeat("x", leadkit.MaxNameBytes+1)
	touches := strings.Repeat("a>", MaxPathTouches) + "b"
	in := head +
		"a;1e308;0;0\n" +
		"a;1;1e400;0\n" +
		"a;1;0;1000000000000001\n" +
		"a;1000000000000000;1e15;1e15\n" + // at the cap: fine
		long + ";1;0;0\n" +
		"a > b\xff;1;0;0\n" +
		"a > b\x00c;1;0;0\n" +
		touches + ";1;0;0\n" +
		strings.Repeat("a>", MaxPathTouches-1) + "b;1;0;0\n" + // at the cap: fine
		"ok;2;0;0\n"
	paths, err := ReadPaths(strings.NewReader(in), CSVOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	for _, want := range []string{
		"csv line 2, column 2 (total_conversions): count 1e308 is over the cap of 1e+15 (MaxPathCount)",
		`csv line 3, column 3 (total_conversion_value): "1e400" is out of range`,
		"csv line 4, column 4 (total_null): count 1000000000000001 is over the cap of 1e+15",
		"csv line 6, column 1 (path): touch 1: channel name is 257 bytes, the limit is 256",
		"csv line 7, column 1 (path): touch 2: channel name is not valid UTF-8",
		"csv line 8, column 1 (path): touch 2: channel name contains a NUL byte",
		"csv line 9, column 1 (path): more than 10000 touches (MaxPathTouches)",
	} {
		assert.Contains(t, err.Error(), want)
	}
	require.Len(t, paths, 3)
	assert.Equal(t, []float64{MaxPathCount, MaxPathCount, MaxPathCount}, []float64{paths[0].Conversions, paths[0].Value, paths[0].Nulls})
	assert.Len(t, paths[1].Channels, MaxPathTouches)
	assert.Equal(t, []string{"ok"}, paths[2].Channels)
	require.NoError(t, ValidatePaths(paths))

	// Options: a separator of at most MaxSeparatorBytes, column names of
	// at most leadkit.MaxNameBytes.
	_, err = ReadPaths(strings.NewReader(head), CSVOptions{Separator: strings.Repeat("-", MaxSeparatorBytes+1)})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "is 17 bytes, the limit is 16")
	_, err = ReadPaths(strings.NewReader(head), CSVOptions{PathColumn: long})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "is 257 bytes, the limit is 256")
}

// TestReadPathsRowCap lowers the row cap: a longer row, on one line or
// spread over several by a quoted field, is skipped without being held in
// memory and reported at the line it starts; the rows after it keep their
// line numbers and are read. A header over the cap ends the read.
func TestReadPathsRowCap(t *testing.T) {
	defer func(n int) { maxRowBytes = n }(maxRowBytes)
	maxRowBytes = 40
	in := "path;total_conversions\n" +
		"a;1\n" +
		strings.Repeat("x>", 30) + ";1\n" + // line 3: 63 bytes
		"b;2\n" +
		"\"q\n" + strings.Repeat("y\n", 30) + "z\";3\n" + // lines 5-36: one quoted row
		"c;x\n" + // line 37: still numbered right
		"d;4"
	paths, err := ReadPaths(strings.NewReader(in), CSVOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Equal(t, "attribution: csv line 3: row longer than 40 bytes (MaxRowBytes)\n"+
		"attribution: csv line 5: row longer than 40 bytes (MaxRowBytes)\n"+
		`attribution: csv line 37, column 2 (total_conversions): "x" is not a number`, err.Error())
	assert.Equal(t, [][]string{{"a"}, {"b"}, {"d"}}, [][]string{paths[0].Channels, paths[1].Channels, paths[2].Channels})

	// A multi-byte delimiter, and a quote that is not a field's first
	// byte (csv: a bare quote, the row still ends with its line).
	paths, err = ReadPaths(strings.NewReader("path§total_conversions\na\"b§1\n"+strings.Repeat("é", 30)+"§1\nc§2\n"), CSVOptions{Delimiter: '§'})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "csv line 2: bare \" in non-quoted-field")
	assert.Contains(t, err.Error(), "csv line 3: row longer than 40 bytes")
	require.Len(t, paths, 1)
	assert.Equal(t, []string{"c"}, paths[0].Channels)

	// A three-byte delimiter whose first byte ends a line: not a
	// delimiter, the row ends there.
	paths, err = ReadPaths(strings.NewReader("path€total_conversions\na€1\xe2\nb€2\n"), CSVOptions{Delimiter: '€'})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), `csv line 2, column 2 (total_conversions): "1\xe2" is not a number`)
	require.Len(t, paths, 1)
	assert.Equal(t, []string{"b"}, paths[0].Channels)

	_, err = ReadPaths(strings.NewReader(strings.Repeat("h", 50)+"\npath;total_conversions\na;1\n"), CSVOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, "attribution: csv line 1: row longer than 40 bytes (MaxRowBytes)")
}

// TestReadPathsMaxPaths lowers the row count cap: the read stops at the
// first row over it, with the rows before.
func TestReadPathsMaxPaths(t *testing.T) {
	defer func(n int) { maxPaths = n }(maxPaths)
	maxPaths = 3
	paths, err := ReadPaths(strings.NewReader("path;total_conversions\na;1\nb;x\nc;1\nd;1\ne;1\n"), CSVOptions{})
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.Contains(t, err.Error(), "csv line 5: more than 3 rows (MaxPaths): split the table")
	assert.Len(t, paths, 2)
	err = ValidatePaths(make([]Path, 4))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	assert.EqualError(t, err, "attribution: leadkit: invalid input: 4 paths, at most 3 (MaxPaths): split the table into shards")
	_, err = Linear{}.Attribute(make([]Path, 4))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	_, err = Markov{}.Attribute(make([]Path, 4))
	require.ErrorIs(t, err, leadkit.ErrInvalid)
}

// csvBoundaries returns the input offsets at which encoding/csv ends its
// records (and its errors) when reading data with delimiter d.
func csvBoundaries(data []byte, d rune) map[int64]bool {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = d
	cr.FieldsPerRecord = -1
	out := map[int64]bool{}
	for {
		_, err := cr.Read()
		if err == io.EOF {
			return out
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return out
		}
		out[cr.InputOffset()] = true
	}
}

// FuzzCSVRows checks that the row limiter splits any input into the rows
// encoding/csv reads, quoted fields, quoting errors and multi-byte
// delimiters included: every record csv ends is a row end, and every row
// holding more than newlines ends where csv ends a record. With a small
// row cap, ReadPaths never panics, reports errors wrapping ErrInvalid and
// returns a subsequence of the paths read without the cap.
func FuzzCSVRows(f *testing.F) {
	f.Add([]byte("path;total_conversions\na;1\n\"b\nc\";2\n\"x\"\"y\";3\n"), ';')
	f.Add([]byte("p§c\n\"a\"§1\n\"b\"x§2\nc\"d§3\n\r\n\"e\r\n"), '§')
	f.Add([]byte("a\tb\n\"\"\t\"\n\"\"\"\n"), '\t')
	f.Fuzz(func(t *testing.T, data []byte, d rune) {
		if d == 0 || !utf8.ValidRune(d) || d == utf8.RuneError || d == '"' || d == '\r' || d == '\n' {
			return
		}
		want := csvBoundaries(data, d)
		l := newRowLimiter(bytes.NewReader(data), d, len(data)+1)
		rows := map[int64]bool{}
		var off int64
		for {
			l.next()
			row := l.out
			off += int64(len(row))
			if len(row) > 0 {
				rows[off] = true
				if strings.Trim(string(row), "\r\n") != "" && !want[off] {
					t.Fatalf("row %q ends at %d, csv ends records at %v", row, off, want)
				}
			}
			if l.err != nil {
				break
			}
		}
		for o := range want {
			if !rows[o] {
				t.Fatalf("csv ends a record at %d, the rows end at %v", o, rows)
			}
		}

		full, _ := ReadPaths(bytes.NewReader(data), CSVOptions{Delimiter: d})
		defer func(n int) { maxRowBytes = n }(maxRowBytes)
		maxRowBytes = 16
		part, err := ReadPaths(bytes.NewReader(data), CSVOptions{Delimiter: d})
		if err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		i := 0
		for _, p := range part {
			for i < len(full) && !slices.Equal(full[i].Channels, p.Channels) {
				i++
			}
			if i == len(full) {
				t.Fatalf("path %v read with the row cap only", p.Channels)
			}
			i++
		}
	})
}
