package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kcconform/pkg/tokenflow"
)

func TestRetryRetriesABusyServerNeverARefusal(t *testing.T) {
	busy := &tokenflow.Error{Status: 503}
	refused := &tokenflow.Error{Status: 400, Code: "invalid_scope"}
	for name, c := range map[string]struct {
		answers []error
		calls   int
		ok      bool
	}{
		"busy twice, then a token": {[]error{busy, busy, nil}, 3, true},
		"refused":                  {[]error{refused}, 1, false},
		"a conflict, then a token": {[]error{&tokenflow.Error{Status: 409, Code: "unknown_error"}, nil}, 2, true},
		"no answer, then a token":  {[]error{errors.New("connection reset"), nil}, 2, true},
		"busy every time":          {[]error{busy, busy, busy, busy, busy, busy}, Tries, false},
	} {
		n := 0
		resp, err := retry(context.Background(), func(context.Context) (*tokenflow.Response, error) {
			e := c.answers[n]
			n++
			if e != nil {
				return nil, e
			}
			return &tokenflow.Response{RefreshToken: "r"}, nil
		}, time.Millisecond)
		if n != c.calls || (err == nil) != c.ok || (resp != nil) != c.ok {
			t.Errorf("%s: %d calls, %v, %v", name, n, resp, err)
		}
	}
	_, err := Retry(context.Background(), func(context.Context) (*tokenflow.Response, error) { return &tokenflow.Response{}, nil })
	if err == nil || !strings.Contains(err.Error(), "client_credentials.use_refresh_token") {
		t.Errorf("an answer without a refresh token: %v", err)
	}
}

func TestTakeBoundsConcurrencyAndSaysWhyATokenIsMissing(t *testing.T) {
	var now, peak atomic.Int32
	toks, errs := Take(context.Background(), 40, 4, time.Second, io.Discard, func(_ context.Context, i int) (*tokenflow.Response, error) {
		c := now.Add(1)
		defer now.Add(-1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		if i == 7 {
			return nil, &tokenflow.Error{Status: 400, Code: "invalid_client"}
		}
		return &tokenflow.Response{RefreshToken: fmt.Sprint("r", i)}, nil
	})
	if peak.Load() > 4 {
		t.Errorf("%d grants at once, want at most 4", peak.Load())
	}
	for i := range toks {
		if (toks[i] == "") != (i == 7) || (errs[i] == nil) != (i != 7) || i != 7 && toks[i] != fmt.Sprint("r", i) {
			t.Errorf("token %d: %v, %v", i, toks[i], errs[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	toks, errs = Take(ctx, 3, 1, time.Second, io.Discard, func(context.Context, int) (*tokenflow.Response, error) {
		return &tokenflow.Response{RefreshToken: "r"}, nil
	})
	if toks[2] != "" || errs[2] == nil {
		t.Errorf("after the context ended: %v, %v", toks, errs)
	}
}

// BenchmarkTakeKeepsOnlyTheRefreshToken: what Take keeps per token once
// the answers are gone (a 10^5 seeding held 2.2 GB while it kept whole
// answers). Target: under 2 KiB per token, for a refresh token of about
// 800 bytes.
func BenchmarkTakeKeepsOnlyTheRefreshToken(b *testing.B) {
	const n = 2000
	answer := func(i int) *tokenflow.Response {
		return &tokenflow.Response{
			Header:       http.Header{"Cache-Control": {"no-store"}, "Content-Type": {"application/json"}},
			AccessToken:  strings.Repeat("a", 1500) + fmt.Sprint(i),
			RefreshToken: strings.Repeat("r", 800) + fmt.Sprint(i),
			Shown:        strings.Repeat("s", 4000),
			Replay:       strings.Repeat("c", 1000),
		}
	}
	var perToken float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept, _ := Take(context.Background(), n, 8, time.Second, io.Discard, func(_ context.Context, i int) (*tokenflow.Response, error) {
			return answer(i), nil
		})
		runtime.GC()
		runtime.ReadMemStats(&after)
		perToken = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(perToken, "B/token-kept")
	if perToken > 2048 {
		b.Fatalf("%.0f bytes kept per token, want under 2 KiB", perToken)
	}
}
