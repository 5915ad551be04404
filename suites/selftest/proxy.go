package selftest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// proxy is a forwarding proxy in front of the real Keycloak that changes
// only what a spec needs changed: the answer to token requests (headers,
// body), or the handling of some requests. Keycloak builds its issuer from
// the Host the client used (hostname-strict=false), so tokens name the
// proxy, as a run pointed at it expects.
type proxy struct {
	srv *httptest.Server
	rp  *httputil.ReverseProxy
}

// newProxy starts a proxy in front of target; it closes when the spec ends.
// handle, when not nil, sees every request first and may answer it itself
// (returning true) instead of forwarding it.
func newProxy(target string, handle func(w http.ResponseWriter, r *http.Request) bool, modify func(*http.Response) error) *proxy {
	GinkgoHelper()
	u, err := url.Parse(target)
	Expect(err).NotTo(HaveOccurred())
	p := &proxy{rp: &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host
	}, ModifyResponse: modify}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handle != nil && handle(w, r) {
			return
		}
		p.rp.ServeHTTP(w, r)
	}))
	DeferCleanup(p.srv.Close)
	return p
}

// URL is where a nested run is pointed.
func (p *proxy) URL() string { return p.srv.URL }

// isTokenRequest reports whether r is a request to a realm's token endpoint.
func isTokenRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/protocol/openid-connect/token")
}

// isProcedureRequest reports whether r is one of the procedure's requests
// (a client-credentials or refresh grant) of a realm other than master,
// where the harness's own admin token comes from. It leaves the body for
// the proxy.
func isProcedureRequest(r *http.Request) bool {
	if !isTokenRequest(r) || strings.Contains(r.URL.Path, "/realms/master/") {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	g := form.Get("grant_type")
	return g == "client_credentials" || g == "refresh_token"
}

// replaceBody swaps a response's body.
func replaceBody(resp *http.Response, body []byte) {
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// recorder is a server that keeps every request it gets: the target of a
// redirect, to see what a client sent on.
type recorder struct {
	srv      *httptest.Server
	requests chan string
}

func newRecorder() *recorder {
	GinkgoHelper()
	rec := &recorder{requests: make(chan string, 100)}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.requests <- r.Method + " " + r.URL.String() + " auth=" + r.Header.Get("Authorization") + " body=" + string(body)
		w.WriteHeader(http.StatusTeapot)
	}))
	DeferCleanup(rec.srv.Close)
	return rec
}

// received returns what arrived so far.
func (rec *recorder) received() []string {
	var out []string
	for {
		select {
		case r := <-rec.requests:
			out = append(out, r)
		default:
			return out
		}
	}
}
