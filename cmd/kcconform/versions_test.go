package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `kcconform versions` lists the served releases from 22.0 on, in version
// order, marking the pinned ones; an unreachable repository is COULD NOT
// RUN naming it; anything else after the flags is refused.
func TestVersionsCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<metadata><versioning><versions><version>21.1.2</version><version>26.7.3</version><version>26.10.1</version><version>22.0.5</version></versions></versioning></metadata>`))
	}))
	defer srv.Close()
	t.Setenv("KC_CACHE_DIR", t.TempDir())
	var out bytes.Buffer
	if code := execute([]string{"--maven-repo-url", srv.URL, "versions"}, &out, &out); code != exitPass {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	text := out.String()
	if strings.Contains(text, "21.1.2") || !strings.Contains(text, "3 releases") {
		t.Errorf("list: %s", text)
	}
	i, j, k := strings.Index(text, "22.0.5"), strings.Index(text, "26.7.3"), strings.Index(text, "26.10.1")
	if i < 0 || !(i < j && j < k) {
		t.Errorf("not in version order: %s", text)
	}
	if !strings.Contains(text, "26.7.3   pinned") {
		t.Errorf("26.7.3 not marked pinned: %s", text)
	}
	out.Reset()
	if code := execute([]string{"--maven-repo-url", "http://127.0.0.1:1", "versions"}, &out, &out); code != exitCouldNot || !strings.Contains(out.String(), "http://127.0.0.1:1/org/keycloak/keycloak-quarkus-dist/maven-metadata.xml") {
		t.Errorf("unreachable: exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := execute([]string{"versions", "now"}, &out, &out); code != exitCouldNot || !strings.Contains(out.String(), `unexpected argument "now"`) {
		t.Errorf("extra argument: exit %d: %s", code, out.String())
	}
}
