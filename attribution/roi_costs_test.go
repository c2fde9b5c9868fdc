package attribution

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
)

func TestReadCosts(t *testing.T) {
	for name, c := range map[string]struct {
		in     string
		period leadkit.Period
		want   CostTable
	}{
		"comma, people": {
			in: "key,period,spend,headcount,loaded_cost,note\nevents,2026-Q1,30000,2,36000,venue\npaid,2026-Q1,45000,,,\n",
			want: CostTable{Period: leadkit.PeriodQuarter, Rows: []CostRow{
				{Key: "events", Period: "2026-Q1", Spend: 30000, Headcount: 2, LoadedCost: 36000},
				{Key: "paid", Period: "2026-Q1", Spend: 45000},
			}},
		},
		"semicolon, BOM, miscased header, blanks": {
			in:   "\uFEFFKey ; Period ; Spend\n webinar ; 2026-03 ; 1.5e3 \r\n",
			want: CostTable{Period: leadkit.PeriodMonth, Rows: []CostRow{{Key: "webinar", Period: "2026-03", Spend: 1500}}},
		},
		"tab, start dates of a month table": {
			in:     "key\tperiod\tspend\nads\t2026-02-01\t7\n",
			period: leadkit.PeriodMonth,
			want:   CostTable{Period: leadkit.PeriodMonth, Rows: []CostRow{{Key: "ads", Period: "2026-02", Spend: 7}}},
		},
		"quoted": {
			in:   "key,period,spend\n\"events, field\",2026,\"12\"\n",
			want: CostTable{Period: leadkit.PeriodYear, Rows: []CostRow{{Key: "events, field", Period: "2026", Spend: 12}}},
		},
	} {
		got, err := ReadCosts(strings.NewReader(c.in), c.period)
		require.NoError(t, err, name)
		assert.Equal(t, c.want, got, name)
	}
}

// Every bad row, with its line and column, in line order; the good rows
// are still returned.
func TestReadCostsErrors(t *testing.T) {
	in := "key,period,spend,headcount\n" +
		"paid,2026-01,-5,\n" + // 2
		"paid,2026-01,5,\n" + // 3
		",2026-01,5,\n" + // 4
		"seo,2026-Q1,5,\n" + // 5: a quarter in a month table
		"seo,2026-02,,\n" + // 6: no spend
		"seo,2026-03,0x1p3,NaN\n" + // 7
		"seo,2026-04,1,1e7\n" + // 8: headcount over the cap
		"seo,2026-05\n" + // 9
		"paid,2026-01,6,\n" + // 10: twice
		"paid,2026-02,6,-1\n" // 11
	got, err := ReadCosts(strings.NewReader(in), "")
	require.ErrorIs(t, err, leadkit.ErrInvalid)
	var ce *CSVError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, strings.Join([]string{
		"attribution: csv line 2, column 3 (spend): spend -5 is negative",
		"attribution: csv line 4, column 1 (key): no key",
		`attribution: csv line 5, column 2 (period): period "2026-Q1": is a quarter, not a month`,
		"attribution: csv line 6, column 3 (spend): empty: write 0 for no spend (a missing row is an unknown cost)",
		`attribution: csv line 7, column 3 (spend): "0x1p3" is not a number`,
		"attribution: csv line 7, column 4 (headcount): headcount is NaN",
		"attribution: csv line 8, column 4 (headcount): headcount 1e+07 is over the cap of 1e+06",
		"attribution: csv line 9: 2 fields, header has 4",
		`attribution: csv line 10: key "paid" and period "2026-01" given twice (first on line 3)`,
		"attribution: csv line 11, column 4 (headcount): headcount -1 is negative",
	}, "\n"), err.Error())
	assert.Equal(t, CostTable{Period: leadkit.PeriodMonth, Rows: []CostRow{{Key: "paid", Period: "2026-01", Spend: 5}}}, got)

	for in, want := range map[string]string{
		"":                          "empty input: no header",
		"key,period\na,2026\n":      `missing column "spend"`,
		"key,period,spend,spend\n":  `column "spend" appears twice in the header`,
		"key,period,spend\n\"a,b\n": "extraneous or missing",
	} {
		_, err := ReadCosts(strings.NewReader(in), "")
		require.ErrorIs(t, err, leadkit.ErrInvalid, in)
		assert.Contains(t, err.Error(), want, in)
	}
	_, err = ReadCosts(strings.NewReader("key,period,spend\n"), "fortnight")
	assert.ErrorIs(t, err, leadkit.ErrInvalid)
	big := "key,period,spend\n" + strings.Repeat("a,2026,1\n", MaxCostTableBytes/9+1)
	_, err = ReadCosts(strings.NewReader(big), "")
	assert.ErrorContains(t, err, "MaxCostTableBytes")
	var rows strings.Builder
	rows.WriteString("key,period,spend\n")
	for i := range MaxCostRows + 1 {
		fmt.Fprintf(&rows, "k%d,2026,1\n", i)
	}
	_, err = ReadCosts(strings.NewReader(rows.String()), "")
	assert.ErrorContains(t, err, "MaxCostRows")
}

// A table written and read back is the same table.
func TestCostTableCSVRoundTrip(t *testing.T) {
	table := functionCosts()
	table.Rows = append(table.Rows, CostRow{Key: `quoted, "x"`, Period: "2026-01", Spend: 0.1, Headcount: 2.5, LoadedCost: 1e-3})
	var buf bytes.Buffer
	require.NoError(t, table.WriteCSV(&buf))
	got, err := ReadCosts(&buf, "")
	require.NoError(t, err)
	assert.Equal(t, table, got)
}

// FuzzReadCosts checks that ReadCosts never panics, that its errors wrap
// ErrInvalid, that what it returns passes NewCosts, and that writing it
// and reading it again gives it back.
func FuzzReadCosts(f *testing.F) {
	f.Add([]byte("key,period,spend,headcount,loaded_cost\nevents,2026-Q1,30000,2,36000\npaid,2026-Q1,45000,,\n"), "")
	f.Add([]byte("key;period;spend\nads;2026-02-01;7\nads;2026-02;8\n"), "month")
	f.Add([]byte("key\tperiod\tspend\n\"a\tb\"\t2026-W53\t-1\n,2026,NaN\n"), "")
	f.Add([]byte("KEY,Period,SPEND,headcount\nx,2025-12-31,1e400,0x10\n"), "day")
	f.Fuzz(func(t *testing.T, data []byte, period string) {
		got, err := ReadCosts(bytes.NewReader(data), leadkit.Period(period))
		if err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		if len(got.Rows) == 0 {
			return
		}
		if _, err := NewCosts(got); err != nil {
			t.Fatalf("returned rows NewCosts refuses: %v", err)
		}
		var buf bytes.Buffer
		if err := got.WriteCSV(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := ReadCosts(&buf, got.Period)
		if err != nil {
			if strings.ContainsAny(strings.Join(keysOf(got), ""), "\r") {
				return // encoding/csv normalises \r\n inside quoted fields
			}
			t.Fatalf("re-reading: %v", err)
		}
		if fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip: %+v != %+v", again, got)
		}
	})
}

func keysOf(t CostTable) []string {
	var out []string
	for _, r := range t.Rows {
		out = append(out, r.Key)
	}
	return out
}

// FuzzCostTable checks, for any JSON or YAML document, that ParseCosts
// and NewCosts never panic and refuse with ErrInvalid, and that a table
// they accept makes a report by period whose every number is finite.
func FuzzCostTable(f *testing.F) {
	f.Add([]byte("period: month\nrows:\n  - {key: webinar, period: 2026-01, spend: 1000}\n  - {key: events, period: 2026-02-01, headcount: 2, loaded_cost: 6000}\n"), "quarter")
	f.Add([]byte(`{"rows": [{"key": "a", "period": 2026, "spend": 1e12, "headcount": 1e6, "loaded_cost": 1e6}]}`), "")
	f.Add([]byte(`{"rows": [{"key": "a", "period": "2026-W01", "spend": 0}, {"key": "a", "period": "2026-W01", "spend": -0}]}`), "week")
	f.Fuzz(func(t *testing.T, data []byte, period string) {
		table, err := ParseCosts(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		c, err := NewCosts(table)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		credits := []Credit{}
		for _, r := range c.Table().Rows {
			credits = append(credits, Credit{Stage: "MQL/" + r.Period, Period: r.Period, Result: Result{Conversions: map[string]float64{r.Key: 1, "other": 2}}})
			if len(credits) == MaxROIStages {
				break
			}
		}
		rep, err := NewPeriodROIReport(table, credits, ROIOptions{Period: leadkit.Period(period)})
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, row := range append(append(rep.Rows, rep.Periods...), append(rep.Keys, rep.Total)...) {
			for _, x := range []float64{row.Cost, row.Spend, row.PeopleCost, row.Headcount} {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("row %s %s: %v", row.Key, row.Period, x)
				}
			}
			for _, s := range row.Stages {
				for _, p := range []*float64{s.CostPer, s.ROAS, s.ROI, s.PerHead, s.ValuePerHead} {
					if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
						t.Fatalf("row %s %s stage %s: %v", row.Key, row.Period, s.Stage, *p)
					}
				}
			}
		}
	})
}
