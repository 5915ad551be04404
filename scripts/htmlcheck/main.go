// Command htmlcheck opens a kcconform HTML report in headless Chromium
// (Debian's chromium, driven with chromedp), checks through the DOM that it
// has one column for each expected run and, in every promise's row, a cell
// for each in a known state, and keeps a screenshot next to the report.
//
//	go run ./scripts/htmlcheck -columns "Keycloak 26.5.6,26.5.6->26.7.3,Keycloak 26.7.3" reports/matrix/matrix.html
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	columns := flag.String("columns", "", "the columns the report must have, comma-separated, in order")
	shot := flag.String("screenshot", "", "where to keep the screenshot (default: next to the report, .png)")
	browser := flag.String("browser", "/usr/bin/chromium", "the Chromium to drive")
	flag.Parse()
	if flag.NArg() != 1 || *columns == "" {
		fmt.Fprintln(os.Stderr, "usage: htmlcheck -columns A,B REPORT.html")
		os.Exit(2)
	}
	if *shot == "" {
		*shot = strings.TrimSuffix(flag.Arg(0), filepath.Ext(flag.Arg(0))) + ".png"
	}
	res, err := check(*browser, flag.Arg(0), strings.Split(*columns, ","), *shot)
	if err != nil {
		fmt.Fprintln(os.Stderr, "htmlcheck:", err)
		os.Exit(1)
	}
	fmt.Printf("htmlcheck: %s: %d column(s) %v, %d promise row(s), every cell in a known state; screenshot %s\n",
		flag.Arg(0), len(res.columns), res.columns, res.rows, *shot)
}

type result struct {
	columns []string
	rows    int
}

// states are what a cell may show.
var states = []string{"pass", "FAIL", "n/a", "skipped", "-", "cut short", "FAIL (as intended)", "not reached"}

func check(browser, page string, want []string, shot string) (*result, error) {
	abs, err := filepath.Abs(page)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "kcconform-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.UserDataDir(profile), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true), chromedp.WindowSize(1400, 1000))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+abs), chromedp.WaitVisible("#verdict")); err != nil {
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	columns, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#verdict thead th[data-column]')).map(th => th.dataset.column)`))
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#verdict tbody tr[data-promise]').length`))
	if err != nil {
		return nil, fmt.Errorf("rows: %w", err)
	}
	cellStates, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#verdict tbody td.cell')).map(td => td.dataset.state)`))
	if err != nil {
		return nil, fmt.Errorf("cells: %w", err)
	}
	cells := len(cellStates)
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		return nil, err
	}
	switch {
	case !slices.Equal(columns, want):
		return nil, fmt.Errorf("columns %q, want %q", columns, want)
	case rows == 0:
		return nil, errors.New("no promise row")
	case cells != rows*len(want):
		return nil, fmt.Errorf("%d cells for %d rows and %d columns: expected a cell per promise and column", cells, rows, len(want))
	}
	for _, st := range cellStates {
		if !slices.Contains(states, st) {
			return nil, fmt.Errorf("a cell in the unknown state %q", st)
		}
	}
	return &result{columns: columns, rows: rows}, nil
}
