package confidence

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// runs makes n runs of size values each: lognormal latencies around
// median ms, each run scaled by its own drift factor.
func runs(rng *rand.Rand, n, size int, median float64, drifts ...float64) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		d := 1.0
		if i < len(drifts) {
			d = drifts[i]
		}
		for range size {
			out[i] = append(out[i], median*d*math.Exp(0.3*rng.NormFloat64()))
		}
	}
	return out
}

func TestATwofoldSlowdownWithSteadyRunsIsShownAndItsIntervalHoldsTheTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := runs(rng, 3, 2000, 10, 1.00, 1.03, 0.98)
	b := runs(rng, 3, 2000, 20, 1.02, 0.97, 1.01)
	iv, err := Ratio(a, b, 0.5, 0.99, 2000, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !iv.Shown() || iv.Lo > 2 || iv.Hi < 2 || math.Abs(iv.Ratio-2) > 0.1 {
		t.Fatalf("interval %s, want ×2 shown with 2 inside", iv)
	}
	if !strings.Contains(iv.String(), "higher, shown") {
		t.Fatalf("String() = %q", iv)
	}
}

func TestRunToRunDriftWithoutARealDifferenceShowsNothing(t *testing.T) {
	// Two runs a side whose medians differ by the drift seen on this
	// project's machines (±30 %), same true median: thousands of requests
	// per run must not make the drift a "difference".
	rng := rand.New(rand.NewPCG(3, 4))
	a := runs(rng, 2, 3000, 10, 0.75, 1.05)
	b := runs(rng, 2, 3000, 10, 1.30, 0.95)
	iv, err := Ratio(a, b, 0.5, 0.99, 2000, 7)
	if err != nil {
		t.Fatal(err)
	}
	if iv.Shown() {
		t.Fatalf("interval %s: the drift of two runs was shown as a difference", iv)
	}
}

func TestTheSameDataGiveTheSameInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b := runs(rng, 2, 500, 10), runs(rng, 2, 500, 12)
	x, _ := Ratio(a, b, 0.95, 0.99, 500, 42)
	y, _ := Ratio(a, b, 0.95, 0.99, 500, 42)
	if x != y {
		t.Fatalf("%v and %v from the same data and seed", x, y)
	}
}

func TestBadInputIsRefusedNamingWhatWasExpected(t *testing.T) {
	if _, err := Ratio(nil, [][]float64{{1}}, 0.5, 0.99, 1000, 1); err == nil || !strings.Contains(err.Error(), "at least one run of each") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Ratio([][]float64{{1}}, [][]float64{{1}}, 1.5, 0.99, 1000, 1); err == nil || !strings.Contains(err.Error(), "0 < q < 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestQuantileInterpolates(t *testing.T) {
	if got := Quantile([]float64{4, 1, 3, 2}, 0.5); got != 2.5 {
		t.Fatalf("median of 1..4 = %g, want 2.5", got)
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Fatal("the quantile of nothing is a number")
	}
}
