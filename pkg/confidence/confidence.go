// Package confidence states a performance difference with its confidence:
// a percentile's ratio between two versions and a bootstrap interval of it
// that resamples whole runs first and then the requests within each
// (a hierarchical bootstrap). Resampling runs matters here: on a machine of
// two cores one run's latencies drift together (4-64 % from run to run was
// measured), so thousands of requests of one run are not thousands of
// independent witnesses, and a test that treats them so shows "differences"
// that the next run contradicts.
package confidence

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Interval is a ratio (TO over FROM of a quantile of the pooled runs) and
// its bootstrap interval at Level.
type Interval struct {
	Ratio  float64 `json:"ratio"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Level  float64 `json:"level"`
	RunsA  int     `json:"runsFrom"`
	RunsB  int     `json:"runsTo"`
	Rounds int     `json:"rounds"`
}

// Shown reports whether the interval excludes 1: a difference is shown at
// the interval's level.
func (iv Interval) Shown() bool { return iv.Lo > 1 || iv.Hi < 1 }

// String is e.g. "×1.82 (99% interval 1.61–2.05): slower, shown".
func (iv Interval) String() string {
	verdict := "no difference shown"
	switch {
	case iv.Lo > 1:
		verdict = "higher, shown"
	case iv.Hi < 1:
		verdict = "lower, shown"
	}
	return fmt.Sprintf("×%.2f (%g%% interval %.2f–%.2f): %s", iv.Ratio, iv.Level*100, iv.Lo, iv.Hi, verdict)
}

// perRun bounds the requests drawn from each run in a bootstrap round: the
// runs, not the requests, limit what the data can show.
const perRun = 400

// Ratio returns q's quantile of b over that of a, pooled over each side's
// runs (each run a slice of per-request values), with its bootstrap
// interval at level from rounds resamples. seed makes it repeatable: the
// same data give the same interval.
func Ratio(a, b [][]float64, q, level float64, rounds int, seed uint64) (Interval, error) {
	a, b = nonEmpty(a), nonEmpty(b)
	if len(a) == 0 || len(b) == 0 {
		return Interval{}, fmt.Errorf("expected values from at least one run of each version, got %d and %d", len(a), len(b))
	}
	if q <= 0 || q >= 1 || level <= 0 || level >= 1 || rounds < 100 {
		return Interval{}, fmt.Errorf("expected 0 < q < 1, 0 < level < 1 and at least 100 rounds, got %g, %g, %d", q, level, rounds)
	}
	qa, qb := Quantile(Pool(a), q), Quantile(Pool(b), q)
	if qa <= 0 {
		return Interval{}, fmt.Errorf("the first version's quantile is %g: no ratio", qa)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6b63636f6e666f72))
	ratios := make([]float64, 0, rounds)
	var bufA, bufB []float64
	for range rounds {
		bufA, bufB = resample(rng, a, bufA), resample(rng, b, bufB)
		if x := Quantile(bufA, q); x > 0 {
			ratios = append(ratios, Quantile(bufB, q)/x)
		}
	}
	slices.Sort(ratios)
	tail := (1 - level) / 2
	return Interval{Ratio: qb / qa, Lo: sortedQuantile(ratios, tail), Hi: sortedQuantile(ratios, 1-tail), Level: level,
		RunsA: len(a), RunsB: len(b), Rounds: rounds}, nil
}

// resample draws as many runs as there are, with replacement, and from each
// drawn run up to perRun of its values, with replacement.
func resample(rng *rand.Rand, runs [][]float64, buf []float64) []float64 {
	buf = buf[:0]
	for range runs {
		r := runs[rng.IntN(len(runs))]
		n := min(len(r), perRun)
		for range n {
			buf = append(buf, r[rng.IntN(len(r))])
		}
	}
	return buf
}

func nonEmpty(runs [][]float64) [][]float64 {
	var out [][]float64
	for _, r := range runs {
		if len(r) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// Pool is every run's values in one slice.
func Pool(runs [][]float64) []float64 {
	var out []float64
	for _, r := range runs {
		out = append(out, r...)
	}
	return out
}

// Quantile is the q quantile of xs (linear between order statistics); xs
// is sorted in place.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	return sortedQuantile(xs, q)
}

func sortedQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[i] + (pos-float64(i))*(xs[i+1]-xs[i])
}
