package benchcompare

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"kcconform/pkg/load"
)

func loadReport(rng *rand.Rand, median float64) load.Report {
	var lat []float64
	for range 1000 {
		lat = append(lat, median*(0.8+0.4*rng.Float64()))
	}
	return load.Report{Results: []load.Result{{Grant: "client_credentials+offline_access", Rate: 25, LatenciesMS: lat}}}
}

func TestTheTableStatesEachRatioWithItsInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := &comparison{From: "26.5.6", To: "26.7.3", Level: 0.99, Runs: map[string][]load.Report{
		"26.5.6": {loadReport(rng, 10), loadReport(rng, 10.3)},
		"26.7.3": {loadReport(rng, 19), loadReport(rng, 20)},
	}}
	if err := c.intervals(); err != nil {
		t.Fatal(err)
	}
	if len(c.Latency) != 1 || !c.Latency[0].P50.Shown() {
		t.Fatalf("latency rows %+v: want one, its slowdown shown", c.Latency)
	}
	c.compare()
	var out bytes.Buffer
	c.write(&out)
	if !strings.Contains(out.String(), "99% interval") || !strings.Contains(out.String(), "higher, shown") {
		t.Fatalf("table:\n%s", out.String())
	}
}

func TestARunWithoutLatenciesIsAnErrorNamingTheGrant(t *testing.T) {
	c := &comparison{From: "a", To: "b", Level: 0.99, Runs: map[string][]load.Report{
		"a": {{Results: []load.Result{{Grant: "refresh", Rate: 25}}}},
		"b": {{Results: []load.Result{{Grant: "refresh", Rate: 25}}}},
	}}
	if err := c.intervals(); err == nil || !strings.Contains(err.Error(), "refresh at 25/s") {
		t.Fatalf("err = %v", err)
	}
}
