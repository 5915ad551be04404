package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fakeToken = "eyJhbGciOiJIUzUxMiJ9.eyJ0eXAiOiJPZmZsaW5lIn0.c2lnbmF0dXJlLW9mLWEtZmFrZQ"

func sample() *State {
	return &State{URL: "https://gw.example/keycloak", Realm: "shasta", ClientID: "exporter", Created: time.Unix(1e9, 0).UTC(),
		Mode: "client-only", Version: "unknown",
		Tokens: []Token{{N: 1, Refresh: fakeToken, Issued: time.Unix(1e9, 0).UTC()}}}
}

func setup(t *testing.T) (string, *Identity) {
	t.Helper()
	dir := t.TempDir()
	id, err := NewKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state")
	if err := Save(path, id, sample()); err != nil {
		t.Fatal(err)
	}
	return path, id
}

func TestRoundTripEncryptedAnd0600(t *testing.T) {
	path, id := setup(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	for _, clear := range []string{fakeToken, "shasta", "exporter", "gw.example", "c2lnbmF0dXJl"} {
		if bytes.Contains(b, []byte(clear)) {
			t.Errorf("state file holds %q in clear", clear)
		}
	}
	st, err := Load(path, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tokens[0].Refresh != fakeToken || st.Realm != "shasta" || st.Format != Format {
		t.Errorf("round trip: %+v", st)
	}
	// No temporary file is left beside it.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 2 {
		t.Errorf("folder holds %d files, want the key and the state", len(ents))
	}
}

func TestNewKeyRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewKey(filepath.Join(dir, "k")); err != nil {
		t.Fatal(err)
	}
	if _, err := NewKey(filepath.Join(dir, "k")); err == nil {
		t.Error("a second NewKey overwrote the key")
	}
}

func TestBadStateFiles(t *testing.T) {
	path, id := setup(t)
	good, _ := os.ReadFile(path)
	other, err := NewKey(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		bytes  func() []byte
		key    *Identity
		want   error
		saying string
	}{
		{"wrong key", func() []byte { return good }, other, ErrWrongKey, "does not open"},
		{"a changed byte in the payload", func() []byte {
			b := bytes.Clone(good)
			b[len(b)-20] ^= 1
			return b
		}, id, ErrDamaged, "damaged"},
		{"a changed byte in the header", func() []byte {
			b := bytes.Clone(good)
			i := bytes.Index(b, []byte("\n---")) - 3
			b[i] ^= 1
			return b
		}, id, nil, ""},
		{"truncated", func() []byte { return good[:len(good)-30] }, id, ErrDamaged, "cut short"},
		{"truncated at a chunk end", func() []byte { return good[:len(good)-1] }, id, ErrDamaged, "cut short"},
		{"newer format", func() []byte { return append([]byte("kcconform-state/2\n"), good[bytes.IndexByte(good, '\n')+1:]...) }, id, ErrNewer, "newer format"},
		{"not a state file", func() []byte { return []byte("hello\n") }, id, ErrNotState, "not a kcconform state file"},
		{"empty", func() []byte { return nil }, id, ErrNotState, "not a kcconform state file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "state")
			if err := os.WriteFile(p, c.bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, c.key)
			if err == nil {
				t.Fatal("opened")
			}
			if c.want == nil {
				// A changed header byte breaks its MAC or its stanza: wrong
				// key or damaged, never opened.
				if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrWrongKey) {
					t.Fatalf("error %v: want damaged or wrong key", err)
				}
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.saying) {
				t.Fatalf("error %q: want %v saying %q", err, c.want, c.saying)
			}
			if strings.Contains(err.Error(), fakeToken) || strings.Contains(err.Error(), "AGE-SECRET") {
				t.Fatalf("error shows a secret: %v", err)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	st := sample()
	if err := st.Matches("https://gw.example/keycloak/", "shasta", "exporter"); err != nil {
		t.Errorf("same deployment: %v", err)
	}
	for _, c := range []struct{ url, realm, client, names string }{
		{"https://other/keycloak", "shasta", "exporter", "KC_URL"},
		{"https://gw.example/keycloak", "other", "exporter", "KC_REALM"},
		{"https://gw.example/keycloak", "shasta", "other", "KC_CLIENT_ID"},
	} {
		err := st.Matches(c.url, c.realm, c.client)
		if err == nil || !strings.Contains(err.Error(), c.names) {
			t.Errorf("Matches(%s, %s, %s) = %v: want an error naming %s", c.url, c.realm, c.client, err, c.names)
		}
	}
}

func TestReadKeyErrorsNameNoSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	os.WriteFile(p, []byte("AGE-SECRET-KEY-1NOTAKEY\n"), 0o600)
	_, err := ReadKey(p)
	if err == nil || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("ReadKey = %v: want an error without the key's text", err)
	}
}

func BenchmarkSave1000Tokens(b *testing.B) {
	dir := b.TempDir()
	id, _ := NewKey(filepath.Join(dir, "key"))
	st := sample()
	for i := 0; i < 1000; i++ {
		st.Tokens = append(st.Tokens, Token{N: i, Refresh: strings.Repeat("x", 800)})
	}
	for b.Loop() {
		if err := Save(filepath.Join(dir, "state"), id, st); err != nil {
			b.Fatal(err)
		}
	}
}
