package learn_test

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
)

// Four weeks of history under an MQL threshold of 60: the SDRs worked
// every lead that reached 60 (30% of those under 80 and half of those
// over it reached SQL) and never saw the others. Two SDRs making 50 calls
// a day, 4 calls per MQL, can work 25 MQLs a day. Which threshold gives
// the most SQLs?
//
// The bands under 60 take the logistic fit through the two worked bands
// (0.30 at 70, the middle of 60-80; 0.50 at 89.5, between 80 and the
// highest score): logit 0.30 + (45-70) x 0.0435 gives 0.13 at 45. At 40
// the 30 MQLs a day are over capacity: 25 of them are worked, so the
// expected SQLs (12.6 + 18.3 + 60 + 100 over 20 days) are cut by 25/30.
func ExampleRecommendThreshold() {
	monday := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	var leads []learn.CapacityLead
	for i := range 1000 {
		score := float64(i % 100) // ten leads at each score from 0 to 99
		at := monday.Add(time.Duration(i%27)*24*time.Hour + time.Hour)
		l := learn.CapacityLead{ID: fmt.Sprint("L", i), Scores: []scoring.ScorePoint{{Time: at, Score: score}}, Worked: score >= 60}
		converts := (score >= 60 && i/100 < 3) || (score >= 80 && i/100 < 5)
		if converts {
			l.SQLAt = at.Add(48 * time.Hour)
		}
		leads = append(leads, l)
	}
	spec := learn.CapacitySpec{
		From: monday, To: monday.AddDate(0, 0, 28), // 20 working days
		Capacity:   learn.SDRCapacity{SDRs: 2, CallsPerSDRPerDay: 50, CallsPerMQL: 4},
		Thresholds: []float64{40, 50, 60, 80},
	}
	res, err := learn.RecommendThreshold(spec, leads)
	if err != nil {
		panic(err)
	}
	fmt.Printf("capacity: %g MQLs/day over %g working days\n", res.CapacityPerDay, *res.WorkingDays)
	for _, b := range res.Bands {
		fmt.Printf("band %g+: %d leads, %d worked, SQL rate %.2f, estimated %v\n", b.Min, b.Leads, b.Worked, *b.Rate, b.Estimated)
	}
	fmt.Println("threshold  MQLs/day  capacity  SQLs/day  estimated")
	for _, p := range res.Curve {
		fmt.Printf("%9g  %8.1f  %7.0f%%  %8.2f  %v\n", p.Threshold, *p.MQLsPerDay, *p.CapacityUsed*100, *p.SQLsPerDay, p.Estimated)
	}
	rec := res.Recommendation
	fmt.Printf("recommended: %g (estimated: %v)\n", *rec.Threshold, rec.Estimated)

	// Leads under 60 were never worked: to trust only what was seen,
	// require observed rates.
	spec.RequireObserved = true
	res, _ = learn.RecommendThreshold(spec, leads)
	fmt.Printf("on observed rates only: %g, %.2f SQLs/day (95%%: %.2f to %.2f)\n", *res.Recommendation.Threshold,
		*res.Recommendation.Point.SQLsPerDay, *res.Recommendation.Point.SQLsPerDayLow, *res.Recommendation.Point.SQLsPerDayHigh)
	// Output:
	// capacity: 25 MQLs/day over 20 working days
	// band 40+: 100 leads, 0 worked, SQL rate 0.13, estimated true
	// band 50+: 100 leads, 0 worked, SQL rate 0.18, estimated true
	// band 60+: 200 leads, 200 worked, SQL rate 0.30, estimated false
	// band 80+: 200 leads, 200 worked, SQL rate 0.50, estimated false
	// threshold  MQLs/day  capacity  SQLs/day  estimated
	//        40      30.0      120%      7.96  true
	//        50      25.0      100%      8.91  true
	//        60      20.0       80%      8.00  false
	//        80      10.0       40%      5.00  false
	// recommended: 50 (estimated: true)
	// on observed rates only: 60, 8.00 SQLs/day (95%: 6.72 to 9.35)
}
