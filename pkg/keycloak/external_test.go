package keycloak

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/redact"
)

func TestExternalRealmMissing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"error":"Realm does not exist"}`))
	}))
	defer srv.Close()
	l := &External{cfg: Config{URL: srv.URL + "/keycloak", Timeout: time.Second,
		Client: &ExistingClient{Realm: "shasta", ClientID: "my-test-client", Secret: "s"}}, red: redact.New()}
	err := l.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "/keycloak/realms/shasta/.well-known/openid-configuration: HTTP 404") ||
		!strings.Contains(err.Error(), "realm missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestExternalTLSUntrusted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	l := &External{cfg: Config{URL: srv.URL, Timeout: time.Second,
		Client: &ExistingClient{Realm: "shasta", ClientID: "c", Secret: "s"}}, red: redact.New()}
	err := l.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "TLS verification failed") {
		t.Fatalf("err = %v", err)
	}
}

// A discovery document that redirects elsewhere is not followed.
func TestExternalRedirectIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:1/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	l := &External{cfg: Config{URL: srv.URL, Timeout: time.Second, Client: &ExistingClient{Realm: "shasta", ClientID: "c", Secret: "s"}}, red: redact.New()}
	if err := l.Up(context.Background()); err == nil || !strings.Contains(err.Error(), "redirected to http://127.0.0.2:1/elsewhere") {
		t.Fatalf("err = %v", err)
	}
}
