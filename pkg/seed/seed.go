// Package seed takes many offline tokens by real grants, as an operator's
// clients do: bounded concurrency, a retry with back-off where the server
// is busy (a 5xx or 409 answer, or none), never where it refuses, and a progress
// line on a terminal. kcconform before and the suites that need many
// offline sessions take them through it.
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"kcconform/pkg/tokenflow"
)

// Tries is how often a grant is sent before its error counts.
const Tries = 5

// Retry sends grant until it gives a token with a refresh token, or a
// refusal (a 4xx answer other than 409), or Tries attempts failed with a
// 5xx or 409 answer or none; it waits 200 ms, doubling, between attempts.
func Retry(ctx context.Context, grant func(context.Context) (*tokenflow.Response, error)) (*tokenflow.Response, error) {
	return retry(ctx, grant, 200*time.Millisecond)
}

func retry(ctx context.Context, grant func(context.Context) (*tokenflow.Response, error), wait time.Duration) (*tokenflow.Response, error) {
	var err error
	for try := 0; try < Tries; try++ {
		var resp *tokenflow.Response
		resp, err = grant(ctx)
		if err == nil {
			if resp.RefreshToken == "" {
				return nil, errors.New("the server sent no refresh_token (client_credentials.use_refresh_token off?)")
			}
			return resp, nil
		}
		// A 409 is a conflict of concurrent grants, not a refusal: 24.0.5
		// answers "409 unknown_error" now and then while grants of one
		// service account run side by side (seen by make bench-scale at
		// 10000 sessions), and a client sending it again gets its token.
		if e, ok := tokenflow.AsError(err); ok && e.Status > 0 && e.Status < 500 && e.Status != 409 {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait *= 2
	}
	return nil, err
}

// Take takes n offline tokens, at most conc under way at once, each grant
// (i is its number, to spread them over clients) retried by Retry within
// per, and keeps their refresh tokens: refresh[i] is empty where errs[i]
// says why. Only the refresh token is kept (a whole answer, with its
// headers, claims and replay command, is some 20 KiB: 2.2 GB at 10^5).
// Progress goes to w where it is a terminal.
func Take(ctx context.Context, n, conc int, per time.Duration, w io.Writer, grant func(ctx context.Context, i int) (*tokenflow.Response, error)) (refresh []string, errs []error) {
	refresh, errs = make([]string, n), make([]error, n)
	bar := NewProgress(w, "taking offline tokens", n)
	ForEach(ctx, n, conc, func(i int) {
		rctx, cancel := context.WithTimeout(ctx, per)
		defer cancel()
		resp, err := Retry(rctx, func(ctx context.Context) (*tokenflow.Response, error) { return grant(ctx, i) })
		if err == nil {
			refresh[i] = resp.RefreshToken
		}
		errs[i] = err
		bar.Add()
	})
	for i := range errs {
		if refresh[i] == "" && errs[i] == nil {
			errs[i] = fmt.Errorf("not taken: %w", context.Cause(ctx))
		}
	}
	return refresh, errs
}

// Progress prints "what n/total (rate, ETA)" to a terminal, in place.
type Progress struct {
	w           io.Writer
	what        string
	total       int
	began, last time.Time
	mu          sync.Mutex
	done        int
	enable      bool
}

// NewProgress is a progress line on w, shown only where w is a terminal.
func NewProgress(w io.Writer, what string, total int) *Progress {
	p := &Progress{w: w, what: what, total: total, began: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.enable = true
		}
	}
	return p
}

// Add counts one more done.
func (p *Progress) Add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if !p.enable || p.total <= 0 || (time.Since(p.last) < 200*time.Millisecond && p.done < p.total) {
		return
	}
	p.last = time.Now()
	rate := float64(p.done) / max(time.Since(p.began).Seconds(), 1e-3)
	eta := time.Duration(float64(p.total-p.done)/rate) * time.Second
	width := 30
	bar := strings.Repeat("#", width*p.done/p.total) + strings.Repeat(".", width-width*p.done/p.total)
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d  %.0f/s  ETA %s ", p.what, bar, p.done, p.total, rate, eta.Round(time.Second))
	if p.done == p.total {
		fmt.Fprintln(p.w)
	}
}

// ForEach runs fn on 0…n-1 with at most conc under way, stopping early
// when ctx ends.
func ForEach(ctx context.Context, n, conc int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(conc, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
