package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit/attribution"
)

// models are the columns the report must show: every path model of the
// package, Markov at orders 1 to 3.
var models = []string{"first", "last", "non_direct", "linear", "position", "markov1", "markov2", "markov3", "shapley"}

// runOK runs the program and returns its stdout, requiring success.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(args, &out, &errOut), "stderr: %s", errOut.String())
	require.Empty(t, errOut.String())
	return out.String()
}

// table finds the table under title: its column names and its rows by
// first cell (the channel).
func table(t *testing.T, out, title string) (cols []string, rows map[string][]string) {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\n"+title+"\n")
	require.True(t, ok, "no table %q in:\n%s", title, out)
	block, _, _ := strings.Cut(rest, "\n\n")
	lines := strings.Split(strings.TrimRight(block, "\n"), "\n")
	head := strings.Fields(lines[0])
	require.Equal(t, "channel", head[0])
	rows = map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		require.Len(t, f, len(head), "row %q", l)
		rows[f[0]] = f[1:]
	}
	return head[1:], rows
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	require.NoError(t, err, "cell %q", s)
	return x
}

// TestSample checks the report on the embedded sample: every model is a
// column, every channel a row, each model's credit sums to the total
// conversions and its shares to 100%, and the removal effects are listed.
func TestSample(t *testing.T) {
	out := runOK(t)

	paths, err := attribution.ReadPaths(strings.NewReader(sample), attribution.CSVOptions{})
	require.NoError(t, err)
	total, _, _ := attribution.Totals(paths)
	require.Equal(t, 98.0, total)
	channels := []string{"content", "email", "event", "paid_search", "sdr", "social", "webinar", "website"}
	assert.Contains(t, out, "sample.csv (embedded sample): 24 paths, 8 channels, 98 conversions (value 1783000), 1561 non-converting journeys\n")

	cols, rows := table(t, out, "Conversions credited")
	require.Equal(t, models, cols)
	require.Len(t, rows, len(channels)+1)
	for j, model := range cols {
		var sum float64
		for _, ch := range channels {
			require.Contains(t, rows, ch)
			x := num(t, rows[ch][j])
			assert.GreaterOrEqual(t, x, 0.0, "%s %s", model, ch)
			sum += x
		}
		// Each cell is rounded to 0.005.
		assert.InDelta(t, total, sum, 0.005*float64(len(channels))+1e-9, "model %s", model)
		assert.Equal(t, "98.00", rows["total"][j], "model %s", model)
	}

	cols, rows = table(t, out, "Share of the credit")
	require.Equal(t, models, cols)
	require.Len(t, rows, len(channels))
	for j, model := range cols {
		var sum float64
		for _, ch := range channels {
			sum += num(t, rows[ch][j])
		}
		assert.InDelta(t, 100, sum, 0.05*float64(len(channels)), "model %s", model)
	}

	cols, rows = table(t, out, "Markov removal effects (relative drop in conversions without the channel)")
	require.Equal(t, []string{"markov1", "markov2", "markov3"}, cols)
	require.Len(t, rows, len(channels))
	for _, ch := range channels {
		for j := range cols {
			re := num(t, rows[ch][j])
			assert.True(t, re > 0 && re <= 1, "%s %s: %v", cols[j], ch, re)
		}
	}
	// Nothing follows sdr in the sample, so removing it loses exactly the
	// conversions of the paths that end with it, 60 of 98, at every order.
	assert.Equal(t, []string{"0.6122", "0.6122", "0.6122"}, rows["sdr"])

	for _, model := range models {
		assert.Contains(t, out, "\n  "+model+" ", "legend of %s", model)
	}
	assert.Equal(t, out, runOK(t), "the report is deterministic")
}

// TestFile reads a table given as argument.
func TestFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "paths.csv")
	require.NoError(t, os.WriteFile(file, []byte(
		"path;total_conversions;total_conversion_value;total_null\n"+
			"webinar > content > email;3;300;7\n"+
			"email;1;50;9\n"), 0o600))
	out := runOK(t, file)
	assert.Contains(t, out, file+": 2 paths, 3 channels, 4 conversions (value 350), 16 non-converting journeys\n")
	_, rows := table(t, out, "Conversions credited")
	// first touch: webinar 3, email 1; last touch: email 4; linear: 1 each
	// to webinar and content, 2 to email.
	assert.Equal(t, []string{"1.00", "4.00", "4.00", "2.00"}, rows["email"][:4])
	assert.Equal(t, []string{"3.00", "0.00", "0.00", "1.00"}, rows["webinar"][:4])
	assert.Equal(t, []string{"4.00", "4.00", "4.00", "4.00"}, rows["total"][:4])
}

// TestNoConversions: a table without conversions credits nothing and has
// no shares, but is not an error.
func TestNoConversions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nulls.csv")
	require.NoError(t, os.WriteFile(file, []byte("path;total_conversions;total_null\nsocial > website;0;12\n"), 0o600))
	out := runOK(t, file)
	_, rows := table(t, out, "Share of the credit")
	assert.Equal(t, []string{"-", "-", "-", "-", "-", "-", "-", "-", "-"}, rows["social"])
}

// TestBadFile: a table that fails to parse is refused with the library's
// errors, which name the line and column, and a non-zero status.
func TestBadFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(file, []byte(
		"path;total_conversions;total_conversion_value;total_null\n"+
			"webinar > email;2;100;5\n"+
			"event > sdr;two;0;1\n"+
			" > ;1;0;0\n"), 0o600))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{file}, &out, &errOut))
	assert.Empty(t, out.String(), "nothing is reported on part of a table")
	assert.Equal(t, file+" is not a usable path table:\n"+
		`attribution: csv line 3, column 2 (total_conversions): "two" is not a number`+"\n"+
		`attribution: csv line 4, column 1 (path): empty path " > "`+"\n", errOut.String())
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{filepath.Join(t.TempDir(), "missing.csv")}, &out, &errOut))
	assert.Contains(t, errOut.String(), "missing.csv")

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"a.csv", "b.csv"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "usage: attribution [-direct a,b] [paths.csv]")
	assert.Empty(t, out.String())

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"-nope"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "-nope")

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 0, run([]string{"-h"}, &out, &errOut))
	assert.Contains(t, out.String(), "usage: attribution [-direct a,b] [paths.csv]")
}

// A file's website is a channel like any other unless -direct names it:
// the last non-direct model credits it, or passes over it to social.
func TestDirectChannels(t *testing.T) {
	file := filepath.Join(t.TempDir(), "paths.csv")
	require.NoError(t, os.WriteFile(file, []byte("path;total_conversions;total_null\nsocial > website;3;1\n"), 0o600))
	row := func(args ...string) string {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(append(args, file), &out, &errOut), errOut.String())
		return out.String()
	}
	// The conversions table's columns: channel, then the models in order.
	credit := func(out, channel string) string {
		m := regexp.MustCompile(`(?m)^ +` + channel + ` +([\d.]+) +([\d.]+) +([\d.]+) `).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		return m[3] // non_direct
	}
	out := row()
	assert.Equal(t, "3.00", credit(out, "website"), out)
	assert.Equal(t, "0.00", credit(out, "social"), out)
	out = row("-direct", "direct,website")
	assert.Equal(t, "0.00", credit(out, "website"), out)
	assert.Equal(t, "3.00", credit(out, "social"), out)
	assert.Contains(t, out, "direct: direct, website")
}

// -direct items are trimmed (the legend prints them with spaces) and an
// empty list is refused; a channel name with a tab is shown quoted, so
// every row keeps its columns.
func TestDirectTrimmedAndNamesQuoted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "paths.csv")
	require.NoError(t, os.WriteFile(file, []byte("path;total_conversions;total_null\nsocial > website;3;1\n"), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-direct", " direct, website ,", file}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "direct: direct, website)")
	assert.Regexp(t, `(?m)^ +website +0\.00 +3\.00 +0\.00 `, out.String())

	for _, bad := range []string{",", " , "} {
		out.Reset()
		errOut.Reset()
		assert.Equal(t, 2, run([]string{"-direct", bad, file}, &out, &errOut), bad)
		assert.Contains(t, errOut.String(), "names no channel")
	}

	require.NoError(t, os.WriteFile(file, []byte("path;total_conversions;total_null\na\tb > c;3;1\nc;1;1\n"), 0o600))
	out.Reset()
	require.Equal(t, 0, run([]string{file}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), `"a\tb"`)
	// The conversions table's rows all have the same columns.
	table := out.String()[strings.Index(out.String(), "Conversions credited"):]
	table = table[:strings.Index(table, "\n\n")]
	var widths []int
	for _, line := range strings.Split(table, "\n")[1:] {
		widths = append(widths, len(strings.Fields(line)))
	}
	for _, w := range widths {
		assert.Equal(t, widths[0], w, table)
	}
}
