package dist

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const metadata = `<?xml version="1.0" encoding="UTF-8"?>
<metadata><groupId>org.keycloak</groupId><artifactId>keycloak-quarkus-dist</artifactId>
<versioning><latest>26.7.3</latest><release>26.7.3</release><versions>
<version>26.10.0-SNAPSHOT</version><version>26.7.3</version><version>22.0.5</version>
<version>26.5.6</version><version>26.7.0</version><version>25.0.6</version><version>26.0.0-rc1</version>
</versions></versioning></metadata>`

// The served releases come in version order (26.10 after 26.7, not
// before), without snapshots or candidates; a version not among them is
// named with its nearest neighbours.
func TestServedAndNearest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/repo"+metadataPath {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(metadata))
	}))
	defer srv.Close()
	got, err := Served(context.Background(), srv.Client(), srv.URL+"/repo/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "22.0.5 25.0.6 26.5.6 26.7.0 26.7.3" {
		t.Fatalf("served %v", got)
	}
	for v, want := range map[string]string{"26.6.0": "26.5.6 26.7.0", "21.1.2": "22.0.5", "27.0.0": "26.7.3", "24.0.5": "22.0.5 25.0.6"} {
		if n := strings.Join(Nearest(got, v), " "); n != want {
			t.Errorf("nearest to %s: %q, want %q", v, n, want)
		}
	}
	why := notServed(context.Background(), "26.6.0", srv.URL+"/repo")
	if !strings.Contains(why, "Keycloak 26.6.0 is not served by "+srv.URL+"/repo") || !strings.Contains(why, "the nearest served: 26.5.6 and 26.7.0") {
		t.Errorf("not served: %q", why)
	}
	if why := notServed(context.Background(), "26.7.0", srv.URL+"/repo"); why != "" {
		t.Errorf("a served version: %q", why)
	}
	if _, err := Served(context.Background(), srv.Client(), srv.URL+"/elsewhere"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("no metadata: %v", err)
	}
	garbled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }))
	defer garbled.Close()
	if _, err := Served(context.Background(), garbled.Client(), garbled.URL); err == nil || !strings.Contains(err.Error(), "expected Maven's metadata") {
		t.Errorf("garbled: %v", err)
	}
}
