package seed

import (
	"context"
	"errors"
	"io"
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
		return &tokenflow.Response{RefreshToken: "r"}, nil
	})
	if peak.Load() > 4 {
		t.Errorf("%d grants at once, want at most 4", peak.Load())
	}
	for i := range toks {
		if (toks[i] == nil) != (i == 7) || (errs[i] == nil) != (i != 7) {
			t.Errorf("token %d: %v, %v", i, toks[i], errs[i])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	toks, errs = Take(ctx, 3, 1, time.Second, io.Discard, func(context.Context, int) (*tokenflow.Response, error) {
		return &tokenflow.Response{RefreshToken: "r"}, nil
	})
	if toks[2] != nil || errs[2] == nil {
		t.Errorf("after the context ended: %v, %v", toks, errs)
	}
}
