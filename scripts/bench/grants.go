package main

import (
	"context"
	"fmt"
	"kcconform/fixtures"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"kcconform/pkg/keycloak"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
)

var grantsPerSecond = regexp.MustCompile(`offline token\(s\) taken in [^(]* \(([0-9.]+) grants/s\)`)

// grantRate measures kcconform before's grant rate (n tokens, conc at once,
// client-only, no verdict) between two raw vegeta runs of the same grant
// with as many workers, on one realm of the server.
func grantRate(ctx context.Context, info keycloak.Info, red *redact.Redactor, dir string, n, conc int) grantResult {
	name, secret, remove := benchRealm(ctx, info, red, "kcconform-bench-grants-")
	defer remove()
	res := grantResult{Tokens: n, Concurrency: conc}

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"offline_access"},
		"client_id": {fixtures.ClientID}, "client_secret": {secret}}
	target := vegeta.Target{Method: http.MethodPost, URL: info.BaseURL + "/realms/" + name + "/protocol/openid-connect/token",
		Body: []byte(form.Encode()), Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	raw := func() float64 {
		// Rate 0 with a fixed pool of workers: as fast as conc clients go.
		a := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true), vegeta.Workers(uint64(conc)), vegeta.MaxWorkers(uint64(conc)), vegeta.MaxBody(0))
		began, ok := time.Now(), 0
		for r := range a.Attack(vegeta.NewStaticTargeter(target), vegeta.Rate{}, 0, "grants") {
			if r.Code == http.StatusOK {
				ok++
			}
			if r.Seq+1 >= uint64(n) {
				a.Stop()
			}
		}
		el := time.Since(began).Seconds()
		if ok < n {
			must(fmt.Errorf("raw vegeta: %d of %d grants answered 200", ok, n))
		}
		return float64(ok) / el
	}

	res.Vegeta = append(res.Vegeta, raw())
	cmd := exec.CommandContext(ctx, "bin/kcconform", "before", "--tokens", strconv.Itoa(n), "--concurrency", strconv.Itoa(conc), "--verdict=false",
		"--report-dir", filepath.Join(dir, "grants"))
	cmd.Env = append(os.Environ(), "KC_TARGET=external", "KC_URL="+info.BaseURL, "KC_REALM="+name, "KC_CLIENT_ID="+fixtures.ClientID,
		"KC_CLIENT_SECRET="+secret, "KC_STATE_FILE="+filepath.Join(dir, "grants.state"), "KC_STATE_KEY_FILE="+filepath.Join(dir, "grants.key"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s\n", report.LastLines(red.String(string(out)), 20))
		must(err)
	}
	m := grantsPerSecond.FindStringSubmatch(string(out))
	if m == nil {
		must(fmt.Errorf("kcconform before printed no grant rate:\n%s", report.LastLines(red.String(string(out)), 10)))
	}
	res.Before, _ = strconv.ParseFloat(m[1], 64)
	res.Vegeta = append(res.Vegeta, raw())
	res.Ratio = res.Before / ((res.Vegeta[0] + res.Vegeta[1]) / 2)
	return res
}
