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

// An external cluster's nodes each serve the realm under the gateway's
// issuer; a node with another issuer, or a URL that is no Keycloak, is
// refused naming it.
func TestExternalClusterNodes(t *testing.T) {
	discovery := func(issuer string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"issuer":"` + issuer + `","token_endpoint":"` + issuer + `/protocol/openid-connect/token"}`))
		}))
	}
	const iss = "http://gw.example/keycloak/realms/shasta"
	gw, good, other := discovery(iss), discovery(iss), discovery("http://node3.example/realms/shasta")
	notKeycloak := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) }))
	for _, s := range []*httptest.Server{gw, good, other, notKeycloak} {
		defer s.Close()
	}
	up := func(nodes ...string) (*External, error) {
		e := &External{cfg: Config{URL: gw.URL, Timeout: time.Second, ClusterURLs: nodes,
			Client: &ExistingClient{Realm: "shasta", ClientID: "my-test-client", Secret: "s"}}, red: redact.New()}
		return e, e.Up(context.Background())
	}
	if e, err := up(good.URL, good.URL); err != nil || len(e.Info().Nodes) != 2 {
		t.Fatalf("good nodes: %v, %v", err, e.Info().Nodes)
	}
	if _, err := up(good.URL, other.URL); err == nil || !strings.Contains(err.Error(), "KC_CLUSTER_URLS: node "+other.URL+" names its issuer") || !strings.Contains(err.Error(), "--hostname") {
		t.Errorf("another issuer: %v", err)
	}
	if _, err := up(good.URL, notKeycloak.URL); err == nil || !strings.Contains(err.Error(), "KC_CLUSTER_URLS: node "+notKeycloak.URL) || !strings.Contains(err.Error(), "not a Keycloak") {
		t.Errorf("not a Keycloak: %v", err)
	}
}
