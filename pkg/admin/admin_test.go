package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/ports"
	"kcconform/pkg/redact"
	"kcconform/pkg/transport"
)

const timeout = 500 * time.Millisecond

// fakeKeycloak answers the admin token request and hands every admin call to
// h; it stands in for what a real server cannot be made to do.
func fakeKeycloak(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/realms/master/protocol/openid-connect/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("password") != "right" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid user credentials"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"admin-token-abcdef","expires_in":60,"token_type":"Bearer"}`))
	})
	mux.HandleFunc("/admin/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func client(t *testing.T, url, password string) *Client {
	t.Helper()
	hc, err := transport.New(transport.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(url, Credentials{Username: "admin", Password: password}, hc, redact.New())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFailureModes(t *testing.T) {
	var hang chan struct{}
	cases := []struct {
		name     string
		password string
		h        http.HandlerFunc
		want     string
	}{
		{"wrong admin credentials", "not-the-password", func(http.ResponseWriter, *http.Request) {}, `admin token refused: invalid_grant "Invalid user credentials" (wrong admin credentials?`},
		{"realm missing", "right", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error":"Realm not found."}`))
		}, `GET /realms/shasta/clients?clientId=my-test-client: HTTP 404: {"error":"Realm not found."}`},
		{"5xx", "right", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, "HTTP 503 (no Content-Type, 0 bytes): an empty body"},
		{"not JSON", "right", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>login</html>")) }, "expected JSON"},
		{"never answers", "right", func(http.ResponseWriter, *http.Request) { <-hang }, "no answer within the deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeKeycloak(t, tc.h)
			hang = make(chan struct{})
			t.Cleanup(func() { close(hang) }) // before srv.Close, which waits for the handler
			began := time.Now()

			_, err := client(t, srv.URL, tc.password).FindClient(context.Background(), "shasta", "my-test-client")
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line containing %q", msg, tc.want)
			}
			if strings.Contains(msg, "wrong") && tc.password != "right" && strings.Contains(msg, tc.password) {
				t.Fatalf("the password leaked: %q", msg)
			}
			if d := time.Since(began); d > timeout+time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

// An HTML error page in place of the admin token says what came back, not
// an empty OAuth error.
func TestAdminTokenOnAnHTMLPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
	}))
	defer srv.Close()
	_, err := client(t, srv.URL, "right").Realms(context.Background())
	want := "admin token: expected 200 with a JSON token response, got HTTP 502 (text/html, 41 bytes): <html><body>502 Bad Gateway</body></html>"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
}

// An admin endpoint that redirects is not followed.
func TestAdminRedirectIsNotFollowed(t *testing.T) {
	var hits int
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	defer srv.Close()
	_, err := client(t, srv.URL, "right").Realms(context.Background())
	if err == nil || !strings.Contains(err.Error(), "credentials not re-sent") || hits != 0 {
		t.Fatalf("err = %v, %d request(s) at the target", err, hits)
	}
}

func TestUnreachable(t *testing.T) {
	port, err := ports.Free() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	_, err = client(t, fmt.Sprintf("http://127.0.0.1:%d", port), "right").Realms(context.Background())
	if err == nil || !strings.Contains(err.Error(), "server unreachable") {
		t.Fatalf("err = %v", err)
	}
}

// A 401 on an admin call (a token that outlived a restart) is retried once
// with a new token.
func TestRetriesOnceWithANewToken(t *testing.T) {
	calls := 0
	srv := fakeKeycloak(t, func(w http.ResponseWriter, _ *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(401)
			return
		}
		_, _ = w.Write([]byte(`[{"realm":"master"}]`))
	})
	realms, err := client(t, srv.URL, "right").Realms(context.Background())
	if err != nil || len(realms) != 1 || calls != 2 {
		t.Fatalf("realms %v, err %v, calls %d", realms, err, calls)
	}
}

func TestCredentialsNameTheMissingField(t *testing.T) {
	if err := (Credentials{Username: "admin"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "KC_ADMIN_PASSWORD:") {
		t.Fatalf("err = %v", err)
	}
}

func TestOfflineSessionCount(t *testing.T) {
	for _, tc := range []struct {
		body, want string
		n          int
	}{
		{`[{"id":"a","clientId":"x","active":"0","offline":"2"},{"id":"b","clientId":"y","offline":"1"}]`, "", 3},
		{`[{"id":"a","offline":4},{"id":"b","active":"1"}]`, "", 4},
		{`[]`, "", 0},
		{`[{"id":"a","offline":"many"}]`, `field offline: expected a count, got "many"`, 0},
		{`[{"id":"a","offline":true}]`, `field offline: expected a count, got bool`, 0},
	} {
		srv := fakeKeycloak(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/admin/realms/r1/client-session-stats" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write([]byte(tc.body))
		})
		n, err := client(t, srv.URL, "right").OfflineSessionCount(context.Background(), "r1")
		switch {
		case tc.want == "" && (err != nil || n != tc.n):
			t.Errorf("%s: got %d, %v; want %d", tc.body, n, err, tc.n)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one containing %q", tc.body, err, tc.want)
		}
	}
}
