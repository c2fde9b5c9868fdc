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
	assert.Contains(t, err.Error(), "10 more row errors")
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
