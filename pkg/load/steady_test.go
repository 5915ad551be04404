package load

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A steady run files every answer under its second by kind, keeps what an
// error answer said but never a token, and plots.
func TestSteadyCountsAnswersByKind(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if tok := r.Form.Get("refresh_token"); tok != "stored-1" && tok != "stored-2" {
			t.Errorf("refresh_token %q", tok)
		}
		switch n.Add(1) % 4 {
		case 0:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Offline user session not found"}`))
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"unknown_error"}`))
		case 2:
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			_ = c.Close()
		default:
			_, _ = w.Write([]byte(`{"access_token":"secret-access","refresh_token":"secret-refresh"}`))
		}
	}))
	defer srv.Close()
	clients := []Target{{TokenURL: srv.URL, ClientID: "c", ClientSecret: "s", RefreshToken: "stored-1"}, {TokenURL: srv.URL, ClientID: "c", ClientSecret: "s", RefreshToken: "stored-2"}}
	s, err := StartSteady(context.Background(), clients, Refresh, 40)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	s.Mark("node 1 stopped")
	time.Sleep(600 * time.Millisecond)
	tl := s.Stop()
	tot := tl.Totals()
	if tot.Sent < 40 || tot.Sent != tot.OK+tot.Refused+tot.ServerErrors+tot.Transport+tot.Other {
		t.Fatalf("totals do not add up: %+v", tot)
	}
	for name, got := range map[string]int{"ok": tot.OK, "refused": tot.Refused, "5xx": tot.ServerErrors, "transport": tot.Transport} {
		if got == 0 {
			t.Errorf("no %s answers counted: %+v", name, tot)
		}
	}
	if tot.Other != 0 {
		t.Errorf("other answers: %+v %v", tot, tl.Answers)
	}
	if tl.Answers["HTTP 400 invalid_grant (Offline user session not found)"] == 0 || tl.Answers["HTTP 500 unknown_error"] == 0 {
		t.Errorf("answers %v", tl.Answers)
	}
	if len(tl.Events) != 1 || tl.Events[0].At < time.Second || tl.FailedSeconds() == 0 {
		t.Errorf("events %v, failed seconds %d", tl.Events, tl.FailedSeconds())
	}
	sum := tl.Summary()
	if strings.Contains(sum, "secret-") || !strings.Contains(sum, "refused (invalid_grant)") {
		t.Errorf("summary %q", sum)
	}
	png, err := tl.Plot("test")
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("plot: %v", err)
	}
}

func TestStartSteadyRefusesBadInput(t *testing.T) {
	one := []Target{{TokenURL: "http://127.0.0.1:1"}}
	for _, rate := range []int{0, 201} {
		if _, err := StartSteady(context.Background(), one, Refresh, rate); err == nil || !strings.Contains(err.Error(), "expected 1 to 200") {
			t.Errorf("rate %d: %v", rate, err)
		}
	}
	if _, err := StartSteady(context.Background(), one, "password", 1); err == nil || !strings.Contains(err.Error(), "unknown grant") {
		t.Errorf("grant: %v", err)
	}
	if _, err := StartSteady(context.Background(), append(one, one...), Refresh, 1); err == nil || !strings.Contains(err.Error(), "2 clients") {
		t.Errorf("more clients than the rate: %v", err)
	}
}
