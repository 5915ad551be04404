package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestPowerFitFindsTheExponent(t *testing.T) {
	f := powerFit([]float64{1e3, 1e4, 1e5}, []float64{2, 20, 200})
	if math.Abs(f.B-1) > 1e-9 || math.Abs(f.at(1e6)-2000) > 1e-6 || f.R2 < 0.999 {
		t.Fatalf("linear: %+v", f)
	}
	f = powerFit([]float64{1e3, 1e5}, []float64{10, 1000 * 10})
	if math.Abs(f.B-1.5) > 1e-9 {
		t.Fatalf("b = %v, want 1.5", f.B)
	}
	if f := powerFit([]float64{1e3}, []float64{5}); f.Points != 1 || f.B != 0 {
		t.Fatalf("one point fitted: %+v", f)
	}
}

func TestSampleSpreadsOverAllTokens(t *testing.T) {
	s := sampleOf(10000, 1000)
	if len(s) != 1000 || s[0] != 0 || s[999] != 9990 {
		t.Fatalf("sample %v…", s[:3])
	}
	if s := sampleOf(200, 1000); len(s) != 200 || s[199] != 199 {
		t.Fatalf("small N: %d", len(s))
	}
}

func TestScaleTableNamesFailuresAndExtrapolates(t *testing.T) {
	rs := []scaleResult{
		{N: 1000, From: "25.0.6", To: "26.7.3", SeedSeconds: 10, BootRestart: 10, BootUpgrade: 20, PeakRSSFrom: 500, PeakRSSTo: 600, DatabaseMiB: 10},
		{N: 10000, From: "25.0.6", To: "26.7.3", SeedSeconds: 100, BootRestart: 11, BootUpgrade: 40, PeakRSSFrom: 520, PeakRSSTo: 640, DatabaseMiB: 30},
		{N: 1000, From: "24.0.5", To: "26.7.3", Err: "start Keycloak 24.0.5: boom"},
	}
	var b strings.Builder
	writeScaleMarkdown(&b, scaleFile{Paths: rs, Rolling: []rollingResult{{N: 1000, From: "26.7.0", To: "26.7.3", Nodes: 3, Mode: "node by node", LoadRequests: 300, LoadRefused: 2}}}, "2 cores", "abc", "2026-12-06")
	for _, want := range []string{"| 1000 | 24.0.5→26.7.3 |  | FAILED: start Keycloak 24.0.5: boom |", "| 25.0.6→26.7.3 | seeding | 1.00 |", "| 25.0.6→26.7.3 | upgrade to ready | 0.30 |", "| 1000 | 26.7.0→26.7.3 |  | 3 | node by node | 0.0 | 0.0 | 300 | 2 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestIncrementFitTakesTheFixedPartOut(t *testing.T) {
	// 10 s fixed, plus 1 s per 1000 sessions.
	ns := []float64{1e3, 1e4, 1e5}
	ys := []float64{11, 20, 110}
	f, base := incrementFit(ns, ys)
	if base != 11 || math.Abs(f.B-1) > 0.1 || math.Abs(base+f.at(1e6)-1010) > 0.15*1010 {
		t.Fatalf("fit %+v base %v: at 10^6 %v", f, base, base+f.at(1e6))
	}
	if f, _ := incrementFit(ns[:2], ys[:2]); f.Points != 0 {
		t.Fatalf("two sizes fitted an increment: %+v", f)
	}
}

func TestInterleavedBurstsAroundEverySegment(t *testing.T) {
	var calls []string
	var seconds float64
	toks, rates := interleaved(100000, func(lo, hi int) ([]string, float64) {
		calls = append(calls, fmt.Sprintf("seed %d-%d", lo, hi))
		return make([]string, hi-lo), 2
	}, func(k int) float64 {
		calls = append(calls, fmt.Sprintf("vegeta %d", k))
		return float64(len(calls))
	}, &seconds)
	if len(toks) != 100000 || seconds != 2*scaleSegments || len(rates) != scaleSegments+1 {
		t.Fatalf("%d tokens, %v s, %d rates", len(toks), seconds, len(rates))
	}
	if calls[0] != "vegeta 1000" || calls[1] != "seed 0-10000" || calls[2] != "vegeta 1000" || calls[len(calls)-2] != "seed 90000-100000" {
		t.Fatalf("order %v", calls)
	}
	// A small N: fewer, smaller bursts, and every token taken once.
	calls = nil
	toks, rates = interleaved(7, func(lo, hi int) ([]string, float64) {
		return make([]string, hi-lo), 1
	}, func(k int) float64 { return float64(k) }, &seconds)
	if len(toks) != 7 || len(rates) != 8 || rates[0] != 1 {
		t.Fatalf("N=7: %d tokens, rates %v", len(toks), rates)
	}
}
