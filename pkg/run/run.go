// Package run is one conformance run as every part of kcconform sees it: its
// settings, parsed once; its id, which tags what it creates on a server; its
// key, from which the secrets of the servers it starts are derived; and its
// redactor, which learns every credential the run meets and records its
// fingerprint for the leak scan. The command makes the run and hands it to
// each suite process through the environment (settings.Environ); every
// package is given what it needs of it as a parameter.
package run

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"sync"

	"kcconform/pkg/random"
	"kcconform/pkg/redact"
	"kcconform/pkg/settings"
)

// Run is one run.
type Run struct {
	// Settings are the run's settings.
	Settings settings.Settings
	// Redactor learns every credential of the run; every output goes
	// through it.
	Redactor *redact.Redactor

	mu sync.Mutex
	// idGiven marks an id the settings fixed (KC_RUN_ID), which Adopt keeps.
	idGiven bool
}

// New makes a run of s: an id and a key are made where s has none, and the
// redactor records fingerprints where s names a folder for them.
func New(s settings.Settings) *Run {
	r := &Run{Settings: s, Redactor: redact.NewRecording(redact.NewSink(s.Fingerprints)), idGiven: s.RunID != ""}
	if r.Settings.RunID == "" {
		r.Settings.RunID = random.Hex(3)
	}
	if r.Settings.RunKey == "" {
		r.Settings.RunKey = random.Hex(32)
	}
	r.Redactor.AddSecret(r.Settings.Server.Admin.Password)
	r.Redactor.AddSecret(r.Settings.Server.Admin.ClientSecret)
	if c := r.Settings.Server.Client; c != nil {
		r.Redactor.AddSecret(c.Secret)
	}
	return r
}

// ID tells this run's objects on a server apart from other runs'.
func (r *Run) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Settings.RunID
}

// Adopt takes the id of the process that started the run's server (Ginkgo's
// first parallel process), unless the settings fixed one: all processes of a
// run tag their objects alike.
func (r *Run) Adopt(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.idGiven && id != "" {
		r.Settings.RunID = id
	}
}

// Password is the password of a server this run starts, derived from the
// run key and a label that may be public, so that it never crosses the
// channel between Ginkgo's parallel processes. The redactor learns it.
func (r *Run) Password(label string) string {
	m := hmac.New(sha256.New, []byte(r.Settings.RunKey))
	m.Write([]byte("kcconform password\x00" + label))
	p := base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:24]
	r.Redactor.AddSecret(p)
	return p
}

// Labels mark what the run starts in a container engine, for clean-up.
func (r *Run) Labels() map[string]string {
	return map[string]string{"io.kcconform.run": r.ID(), "io.kcconform.owner-pid": fmt.Sprint(os.Getpid())}
}

// Environ is base with the run's settings, id and key: the environment of a
// process of this run.
func (r *Run) Environ(base []string) []string {
	s := r.Settings
	s.RunID = r.ID()
	return s.Environ(base)
}
