package tokenflow_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/ports"
	"kcconform/pkg/redact"
	"kcconform/pkg/tokenflow"
	"kcconform/pkg/tokenflow/tokenflowtest"
	"kcconform/pkg/transport"
)

var (
	jwtWith  = tokenflowtest.JWT
	goodBody = func() map[string]any { return tokenflowtest.Body(nil) }
)

const timeout = 500 * time.Millisecond

func client(t *testing.T, url string) *tokenflow.Client {
	t.Helper()
	hc, err := transport.New(transport.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return tokenflow.NewClient(tokenflow.RealmEndpoints(url, "shasta"), "my-test-client", "the-client-secret", hc, redact.New())
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestClientCredentialsReturnsWhatTheServerSent(t *testing.T) {
	var form url.Values
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(goodBody())
	})
	resp, err := client(t, srv.URL).ClientCredentials(context.Background(), "offline_access")
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("grant_type") != "client_credentials" || form.Get("scope") != "offline_access" || form.Get("client_secret") != "the-client-secret" {
		t.Fatalf("request form = %v", form)
	}
	if *resp.ExpiresIn != 31536000 || *resp.RefreshExpiresIn != 0 || resp.TokenType != "Bearer" {
		t.Fatalf("response = %+v", resp)
	}
	if typ, _ := resp.RefreshClaims.String("typ"); typ != "Offline" {
		t.Fatalf("refresh claims = %v", resp.RefreshClaims)
	}
	if strings.Contains(resp.Redacted(), resp.AccessToken) {
		t.Fatal("Redacted() shows the access token")
	}
	if !strings.Contains(resp.Replay, `client_secret="${CLIENT_SECRET}"`) || strings.Contains(resp.Replay, "the-client-secret") {
		t.Fatalf("replay = %s", resp.Replay)
	}
}

func TestRefreshSendsTheRefreshToken(t *testing.T) {
	var got string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm.Get("grant_type") + " " + r.PostForm.Get("refresh_token")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(goodBody())
	})
	if _, err := client(t, srv.URL).Refresh(context.Background(), "RT-123456"); err != nil {
		t.Fatal(err)
	}
	if got != "refresh_token RT-123456" {
		t.Fatalf("sent %q", got)
	}
}

// Each failure mode gives a one-line cause naming the endpoint, within the
// deadline plus a second, and no panic.
func TestFailureModes(t *testing.T) {
	var hang chan struct{}
	body := func(s string, status int) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(s))
		}
	}
	withField := func(k string, v any) string {
		b := goodBody()
		b[k] = v
		out, _ := json.Marshal(b)
		return string(out)
	}
	cases := []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"oauth error", body(`{"error":"invalid_grant","error_description":"Invalid refresh token"}`, 400), `HTTP 400 invalid_grant "Invalid refresh token"`},
		{"5xx", body("<html>Bad Gateway</html>", 502), "HTTP 502: expected 200 with a token response, got HTTP 502"},
		{"not JSON", body("<html>hello</html>", 200), "expected a JSON object, got text that is not JSON"},
		{"expires_in as string", body(withField("expires_in", "31536000"), 200), `expires_in: expected a whole number of seconds, got a string "31536000"`},
		{"scope as number", body(withField("scope", 42), 200), "scope: expected a string, got a number 42"},
		{"truncated", body(`{"access_token":"abc","expires_in":315`, 200), "truncated JSON body"},
		{"huge", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(200)
			chunk := []byte(strings.Repeat(" ", 64<<10))
			for i := 0; i < 64; i++ { // 4 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "larger than the 1 MiB"},
		{"never answers", func(w http.ResponseWriter, r *http.Request) {
			<-hang
		}, "no answer within the deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.h)
			t.Cleanup(func() { close(hang) }) // runs before srv.Close
			hang = make(chan struct{})
			began := time.Now()
			_, err := client(t, srv.URL).ClientCredentials(context.Background(), "offline_access")
			took := time.Since(began)
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "/realms/shasta/protocol/openid-connect/token") {
				t.Fatalf("error %q: want it to contain %q and name the endpoint", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if took > timeout+time.Second {
				t.Fatalf("took %s, more than the deadline plus a second", took)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	port, err := ports.Free() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	_, err = client(t, fmt.Sprintf("http://127.0.0.1:%d", port)).ClientCredentials(context.Background(), "offline_access")
	if err == nil || !strings.Contains(err.Error(), "server unreachable") {
		t.Fatalf("err = %v, want server unreachable", err)
	}
}

func TestTLSVerificationFailure(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	_, err := client(t, srv.URL).ClientCredentials(context.Background(), "offline_access")
	if err == nil || !strings.Contains(err.Error(), "TLS verification failed") || !strings.Contains(err.Error(), "KC_CA_FILE") {
		t.Fatalf("err = %v, want a TLS verification failure naming KC_CA_FILE", err)
	}
}

// A token endpoint that redirects gets no second request: the form body with
// the client secret stays here, and the error says where it was sent.
func TestRedirectIsNotFollowed(t *testing.T) {
	var hits int
	target := serve(t, func(w http.ResponseWriter, r *http.Request) { hits++ })
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal", http.StatusTemporaryRedirect)
	})
	_, err := client(t, srv.URL).ClientCredentials(context.Background(), "offline_access")
	if err == nil || !strings.Contains(err.Error(), "redirected to "+target.URL+"/steal; credentials not re-sent") {
		t.Fatalf("err = %v, want a redirect named", err)
	}
	if hits != 0 {
		t.Fatalf("the redirect target got %d request(s)", hits)
	}
	c := client(t, srv.URL)
	if err := c.Revoke(context.Background(), "rt-0123456789"); err == nil || !strings.Contains(err.Error(), "credentials not re-sent") {
		t.Fatalf("revoke: err = %v, want a redirect named", err)
	}
	if hits != 0 {
		t.Fatalf("the redirect target got %d request(s)", hits)
	}
}

// Opaque tokens in a response with a wrong-typed field: the error and the
// body shown carry neither token.
func TestOpaqueTokensOfARefusedAnswerAreRedacted(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"opaque-access-token-0001","refresh_token":"opaque-refresh-token-0002","expires_in":"31536000"}`))
	})
	_, err := client(t, srv.URL).ClientCredentials(context.Background(), "offline_access")
	e, ok := tokenflow.AsError(err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	for _, text := range []string{e.Error(), e.Body} {
		if strings.Contains(text, "opaque-access-token-0001") || strings.Contains(text, "opaque-refresh-token-0002") {
			t.Fatalf("a token in clear: %s", text)
		}
	}
	if !strings.Contains(e.Error(), "expires_in: expected a whole number of seconds") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeJWTRejectsGarbage(t *testing.T) {
	for _, tok := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c"} {
		if _, err := tokenflow.DecodeJWT(tok); err == nil {
			t.Errorf("DecodeJWT(%q) accepted garbage", tok)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	body, _ := json.Marshal(goodBody())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := tokenflow.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleClient_Replay() {
	c := tokenflow.NewClient(tokenflow.RealmEndpoints("https://api-gw-service-nmn.local/keycloak", "shasta"), "my-test-client", "s3cret", http.DefaultClient, redact.New())
	fmt.Println(c.Replay(tokenflow.Request{Grant: "client_credentials", Scope: "offline_access"}))
	// Output: curl -s -d grant_type=client_credentials -d client_id=my-test-client -d client_secret="${CLIENT_SECRET}" -d scope=offline_access https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token | jq
}

// An error names the request's method: discovery is a GET, a token request
// a POST.
func TestErrorNamesTheMethod(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotFound) })
	c := client(t, srv.URL)
	if _, err := c.Discover(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "GET "+srv.URL+"/realms/shasta/.well-known/openid-configuration: HTTP 404") {
		t.Errorf("discovery: %v", err)
	}
	if _, err := c.ClientCredentials(context.Background(), "offline_access"); err == nil || !strings.HasPrefix(err.Error(), "POST "+srv.URL+"/realms/shasta/protocol/openid-connect/token") {
		t.Errorf("token request: %v", err)
	}
}
