package bisect

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"kcconform/pkg/cmds/internal/loadrun"
	"kcconform/pkg/confidence"
	"kcconform/pkg/load"
)

// metricBisection bisects a latency: a release differs from GOOD when the
// ratio of its latency quantile to GOOD's is shown at the level (its
// bootstrap interval over runs, then requests, excludes 1).
type metricBisection struct {
	binary, reports, metric, grant string
	rate, runs                     int
	level                          float64
	out                            io.Writer
	lat                            map[string][][]float64 // by release: a run's latencies each
	tried                          []string
}

func (m *metricBisection) quantile() (float64, error) {
	switch m.metric {
	case "p50":
		return 0.5, nil
	case "p95":
		return 0.95, nil
	}
	return 0, fmt.Errorf("-metric %q: expected p50 or p95", m.metric)
}

func (m *metricBisection) run(good, bad, repo string) error {
	q, err := m.quantile()
	if err != nil {
		return err
	}
	if m.runs < 2 {
		return fmt.Errorf("-runs %d: expected at least 2 (the interval resamples runs)", m.runs)
	}
	span, err := releases(m.binary, good, bad, repo)
	if err != nil {
		return err
	}
	// Each release's interval once: the search and the summary both read it.
	ivs := map[string]confidence.Interval{}
	ratio := func(v string) (confidence.Interval, error) {
		if iv, ok := ivs[v]; ok {
			return iv, nil
		}
		a, err := m.latencies(good)
		if err != nil {
			return confidence.Interval{}, err
		}
		b, err := m.latencies(v)
		if err != nil {
			return confidence.Interval{}, err
		}
		iv, err := confidence.Ratio(a, b, q, m.level, 2000, 1)
		if err == nil {
			ivs[v] = iv
		}
		return iv, err
	}
	whole, err := ratio(bad)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.out, "bisect: %s of %s at %d/s, %s over %s: %s\n", m.metric, m.grant, m.rate, bad, good, whole)
	if !whole.Shown() {
		return fmt.Errorf("%s and %s: no %s difference shown at %g%%: nothing to bisect", good, bad, m.metric, m.level*100)
	}
	var failed error
	lo, hi := search(span, func(v string) bool {
		iv, err := ratio(v)
		if err != nil {
			failed = err
			return false
		}
		// Alike: no change shown, or not the change BAD shows.
		return !iv.Shown() || (iv.Lo > 1) != (whole.Lo > 1)
	})
	if failed != nil {
		return failed
	}
	fmt.Fprintf(m.out, "\nbisect: %s of %s at %d/s: the first release whose latency differs from %s's is %s (the release before it: %s)\n\n",
		m.metric, m.grant, m.rate, good, span[hi], span[lo])
	fmt.Fprintf(m.out, "releases tried (%d of the %d served from %s to %s), %s over %s's:\n", len(m.tried), len(span), good, bad, m.metric, good)
	for _, v := range span {
		if iv, ok := ivs[v]; ok {
			fmt.Fprintf(m.out, "  %-8s %s\n", v, iv)
		}
	}
	return nil
}

// latencies runs the load suite on a release m.runs times (once per
// release) and returns each run's latencies of the chosen grant and rate.
func (m *metricBisection) latencies(v string) ([][]float64, error) {
	if l, ok := m.lat[v]; ok {
		return l, nil
	}
	m.tried = append(m.tried, v)
	var out [][]float64
	for i := 1; i <= m.runs; i++ {
		fmt.Fprintf(m.out, "bisect: Keycloak %s (load suite, run %d of %d) ...\n", v, i, m.runs)
		rep, err := loadrun.Run(m.binary, v, filepath.Join(m.reports, fmt.Sprintf("%s-load%d", v, i)))
		if err != nil {
			return nil, err
		}
		lat, err := m.pick(rep)
		if err != nil {
			return nil, fmt.Errorf("Keycloak %s: %w", v, err)
		}
		out = append(out, lat)
	}
	m.lat[v] = out
	return out, nil
}

// pick chooses the grant and rate (the report's first grant and its lowest
// rate unless named; fixed from then on) and returns their latencies.
func (m *metricBisection) pick(rep load.Report) ([]float64, error) {
	var have []string
	for _, r := range rep.Results {
		have = append(have, fmt.Sprintf("%s at %d/s", r.Grant, r.Rate))
	}
	if m.grant == "" && len(rep.Results) > 0 {
		m.grant = rep.Results[0].Grant
	}
	if m.rate == 0 {
		for _, r := range rep.Results {
			if strings.HasPrefix(r.Grant, m.grant) && (m.rate == 0 || r.Rate < m.rate) {
				m.rate = r.Rate
			}
		}
	}
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Grant, m.grant) && r.Rate == m.rate {
			m.grant = r.Grant
			return r.LatenciesMS, nil
		}
	}
	return nil, fmt.Errorf("no result for -grant %q at -rate %d (the report has %s)", m.grant, m.rate, strings.Join(have, ", "))
}
