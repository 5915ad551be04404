package selftest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// gate is a reverse proxy in front of the real Keycloak that lets an
// interrupt land half-way through a nested run, whatever the machine's
// speed: once the run has been given its first offline token, it holds
// every further request until released. Without it, a warm run gets,
// refreshes and revokes its token between two polls of the server.
// It forwards to the real server and changes nothing it sends.
type gate struct {
	srv       *httptest.Server
	held      chan struct{} // closed when the first offline token went through
	abandoned chan struct{} // closed when the run gave up a held request (it saw the interrupt)
	released  chan struct{} // closed by release
	waiting   atomic.Int32  // requests being held now
	given     atomic.Value  // "METHOD path" of the first request given up

	holdOnce, abandonOnce, releaseOnce sync.Once
}

// maxHold bounds how long a request is held, so a forgotten gate cannot hang a run.
const maxHold = 3 * time.Minute

// newGate starts a gate in front of target; it is closed when the spec ends.
func newGate(target string) *gate {
	GinkgoHelper()
	u, err := url.Parse(target)
	Expect(err).NotTo(HaveOccurred())
	g := &gate{held: make(chan struct{}), abandoned: make(chan struct{}), released: make(chan struct{})}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		// Keycloak (hostname-strict=false) builds its issuer from the Host
		// the client used, so tokens name the gate, as the run expects.
		r.Out.Host = r.In.Host
	}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body is read before any hold: only then does the server watch
		// the connection and see a client that gives the request up.
		offlineGet := isOfflineGet(r)
		select {
		case <-g.held:
			timer := time.NewTimer(maxHold)
			defer timer.Stop()
			g.waiting.Add(1)
			defer g.waiting.Add(-1)
			select {
			case <-g.released:
			case <-timer.C:
			case <-r.Context().Done():
				g.abandonOnce.Do(func() {
					g.given.Store(r.Method + " " + r.URL.Path)
					close(g.abandoned)
				})
				return
			}
		default:
		}
		rec := &statusRecorder{ResponseWriter: w}
		proxy.ServeHTTP(rec, r)
		if offlineGet && rec.status == http.StatusOK {
			g.holdOnce.Do(func() { close(g.held) })
		}
	}))
	DeferCleanup(func() { g.release(); g.srv.Close() })
	return g
}

// URL is where the nested run is pointed.
func (g *gate) URL() string { return g.srv.URL }

// Waiting reports whether the run, given its first offline token, is now
// stopped at the gate in a request.
func (g *gate) Waiting() bool { return g.waiting.Load() > 0 }

// Abandoned is closed once the run gave up a held request, as a run does
// when an interrupt cancels its spec.
func (g *gate) Abandoned() <-chan struct{} { return g.abandoned }

// GivenUp names the first request the run gave up, once Abandoned is closed.
func (g *gate) GivenUp() string {
	s, _ := g.given.Load().(string)
	return s
}

// release lets every held and later request through.
func (g *gate) release() { g.releaseOnce.Do(func() { close(g.released) }) }

// isOfflineGet reports whether r is the procedure's get: a client-credentials
// grant with scope offline_access. It reads r's whole body and leaves a copy
// for the proxy.
func isOfflineGet(r *http.Request) bool {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/protocol/openid-connect/token") {
		return false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return false
	}
	return form.Get("grant_type") == "client_credentials" && strings.Contains(" "+form.Get("scope")+" ", " offline_access ")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets the proxy flush through the recorder.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
