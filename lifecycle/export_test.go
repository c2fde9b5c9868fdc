package lifecycle

import (
	"context"
	"errors"

	"github.com/leadkit/leadkit/attribution"
	"github.com/leadkit/leadkit/stage"
)

// CreditsBothWays returns the attribution of stage st over p as Verify
// computes it (one pass of a CreditAccumulator) and as the reference
// (stageCreditsRef: the paths of every journey at once, as Verify
// computed them before the accumulator).
func CreditsBothWays(ctx context.Context, e *Engine, st string, p Period) (got, ref StageResult, err error) {
	snap, err := e.snapshot(ctx, nil)
	if err != nil {
		return got, ref, err
	}
	if err := stageCredits(snap, st, e.creditPlan(st, p, e.verify.Keys, verifyModels, e.verify), &got); err != nil {
		return got, ref, err
	}
	err = e.stageCreditsRef(snap, st, p, e.verify.Keys, verifyModels, e.verify, &ref)
	return got, ref, err
}

// stageCreditsRef is stageCredits as it was before the CreditAccumulator: it credits the period's entries into stage st to each of
// keys by each of models ("last_touch", "markov"), appending the results
// to r.Attribution and the journeys left out to r.Skipped: Verify's
// attribution, which ROI reads per period as well.
func (e *Engine) stageCreditsRef(snap *snapshot, st string, p Period, keys []attribution.TouchKey, models []string, opts VerifyOptions, r *StageResult) error {
	var upTo []stage.Visit
	for _, v := range snap.visits {
		if v.Stage == st && v.At.Before(p.To) {
			upTo = append(upTo, v)
		}
	}
	journeys, err := attributionJourneys(snap.timelines, upTo, exits(snap.visits, e.machine.Definition(), e.machine.FunnelStages(), p.To), st, p, opts.Values)
	if err != nil {
		return err
	}
	for _, key := range keys {
		conv := attribution.Conversion{Types: []string{attribution.StageEventType(st)}, Key: key, Lookback: opts.Lookback, AsOf: p.To, TouchTypes: opts.TouchTypes}
		if _, ok := opts.Values[st]; ok {
			conv.ValueAttr = valueAttr
		}
		paths, err := attribution.PathsFromTimelines(journeys, conv)
		if err != nil {
			var te *attribution.TimelineError
			if !errors.As(err, &te) {
				return err
			}
			if key == keys[0] { // one journey, counted once
				r.skipped(err)
			}
		}
		for _, name := range models {
			var model attribution.Model = attribution.LastTouch{}
			if name == "markov" {
				model = attribution.Markov{Order: opts.MarkovOrder}
			}
			a := StageCredit{Key: key, Model: name}
			if a.Result, err = model.Attribute(paths); err != nil {
				a.Result, a.Error = attribution.Result{}, err.Error()
			}
			r.Attribution = append(r.Attribution, a)
		}
	}
	return nil
}

// skipped counts the journeys PathsFromTimelines left out (one error each,
// joined) and keeps the first reasons.
func (r *StageResult) skipped(err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	r.Skipped += len(errs)
	for _, e := range errs {
		if len(r.SkipReasons) < MaxSkipReasons {
			r.SkipReasons = append(r.SkipReasons, e.Error())
		}
	}
}
