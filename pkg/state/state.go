// Package state is the file that carries a release engineer's upgrade check
// across their own upgrade: what `kcconform before` saw (the server's
// version, the verdict, the settings read) and the offline tokens it took,
// which `kcconform watch` refreshes and `kcconform after` refreshes once more
// and then revokes.
//
// An offline refresh token never expires: the file holds standing
// credentials. It is encrypted at rest with age (X25519 recipient, the
// payload in ChaCha20-Poly1305 STREAM chunks, the header under an HMAC):
// a changed byte anywhere or a cut-off file fails to open, and the key lives
// in a file of its own that is never the state file. It is written 0600,
// atomically (a temporary file beside it, fsync, rename, fsync of the
// folder), so a kill at any moment leaves the old file or the new one.
package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
)

// Format is the version of the state file this package writes and reads.
const Format = 1

// magic starts every state file, in clear, before the age payload: it says
// what the file is and its format, so a file of a newer format is named as
// such before any key is tried.
const magic = "kcconform-state/"

// Token is one stored offline token.
type Token struct {
	// N numbers the token (1…), for reports: never the token itself.
	N int `json:"n"`
	// Refresh is the offline refresh token, the newest the server sent.
	Refresh string `json:"refresh"`
	// Issued is when `before` took it.
	Issued time.Time `json:"issued"`
	// Refreshes counts successful refreshes since.
	Refreshes int `json:"refreshes"`
	// Lost is set when `after` (or watch) saw it refused: the server's
	// answer, redacted.
	Lost string `json:"lost,omitempty"`
}

// Check is one verdict row as `before` saw it, to compare with `after`'s.
type Check struct {
	Promise string `json:"promise"`
	Class   string `json:"class"`
	Result  string `json:"result"`
	Sent    string `json:"sent"`
}

// Watch is the summary of one `kcconform watch` run.
type Watch struct {
	Began time.Time `json:"began"`
	// Seconds counts the seconds watched, Refused those with a refusal,
	// Unavailable those where no refresh succeeded (5xx, no answer).
	Seconds, Refused, Unavailable int
	// Sent, OK count refreshes.
	Sent, OK int
	// Answers counts refusals and errors by what the server said.
	Answers map[string]int `json:"answers,omitempty"`
	// Timeline is the per-second JSON file in the reports.
	Timeline string `json:"timeline,omitempty"`
}

// State is the content of a state file.
type State struct {
	Format int `json:"format"`
	// URL, Realm and ClientID say which deployment and client the tokens
	// are of: a state file is only opened for the same three.
	URL      string    `json:"url"`
	Realm    string    `json:"realm"`
	ClientID string    `json:"clientId"`
	Created  time.Time `json:"created"`
	// Mode is how `before` ran: client-only or with admin rights.
	Mode string `json:"mode"`
	// Version is the server's version as read before ("unknown" where it
	// could not be read, as without admin rights).
	Version string `json:"version"`
	// Verdict is `before`'s verdict line and rows; empty when it was not run.
	Verdict string  `json:"verdict,omitempty"`
	Checks  []Check `json:"checks,omitempty"`
	// Settings are the settings `before` read, as printed.
	Settings []string `json:"settings,omitempty"`
	Tokens   []Token  `json:"tokens"`
	Watches  []Watch  `json:"watches,omitempty"`
}

// Identity is the key of a state file.
type Identity = age.X25519Identity

// Errors a caller tells apart: each is a COULD NOT RUN with its cause.
var (
	ErrWrongKey = errors.New("the key does not open this state file (another key file, or another file)")
	ErrDamaged  = errors.New("the state file is damaged or cut short (it fails its authentication)")
	ErrNewer    = errors.New("the state file is of a newer format than this kcconform reads")
	ErrNotState = errors.New("not a kcconform state file")
)

// NewKey makes a key and writes it to path (0600, refusing to overwrite a
// file that exists).
func NewKey(path string) (*Identity, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("make a state key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("make a state key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write the state key %s: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "# kcconform state key, made %s: keep it apart from the state file\n%s\n", time.Now().UTC().Format(time.RFC3339), id)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write the state key %s: %w", path, err)
	}
	return id, nil
}

// ReadKey reads a key file NewKey wrote (or age-keygen's).
func ReadKey(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the state key: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			// age's error quotes nothing of the key; still, say only where.
			return nil, fmt.Errorf("read the state key %s: expected an age X25519 key (AGE-SECRET-KEY-1…)", path)
		}
		return id, nil
	}
	return nil, fmt.Errorf("read the state key %s: expected an age X25519 key (AGE-SECRET-KEY-1…), found none", path)
}

// Save encrypts st to id and writes it to path atomically, 0600.
func Save(path string, id *Identity, st *State) error {
	st.Format = Format
	plain, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s%d\n", magic, Format)
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		return fmt.Errorf("save the state: encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return fmt.Errorf("save the state: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("save the state: encrypt: %w", err)
	}
	return writeAtomic(path, buf.Bytes())
}

// writeAtomic writes b to a temporary file beside path, syncs it, renames
// it over path and syncs the folder, so that path holds the old content or
// the new one whenever the process dies.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save the state: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save the state: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename's own durability; the content is synced
		d.Close()
	}
	return nil
}

// Load opens the state file at path with id. Its errors wrap ErrWrongKey,
// ErrDamaged, ErrNewer or ErrNotState where that is the cause.
func Load(path string, id *Identity) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open the state file: %w", err)
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || !bytes.HasPrefix(b, []byte(magic)) {
		return nil, fmt.Errorf("open the state file %s: %w", path, ErrNotState)
	}
	format, err := strconv.Atoi(string(b[len(magic):nl]))
	if err != nil {
		return nil, fmt.Errorf("open the state file %s: %w (its format line is garbled)", path, ErrDamaged)
	}
	if format > Format {
		return nil, fmt.Errorf("open the state file %s: %w (format %d; this one reads %d): use the kcconform that wrote it", path, ErrNewer, format, Format)
	}
	if format < 1 {
		return nil, fmt.Errorf("open the state file %s: %w (format %d)", path, ErrDamaged, format)
	}
	r, err := age.Decrypt(bytes.NewReader(b[nl+1:]), id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("open the state file %s: %w", path, ErrWrongKey)
		}
		return nil, fmt.Errorf("open the state file %s: %w", path, ErrDamaged)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("open the state file %s: %w", path, ErrDamaged)
	}
	var st State
	if err := json.Unmarshal(plain, &st); err != nil {
		return nil, fmt.Errorf("open the state file %s: %w (its content is not the state)", path, ErrDamaged)
	}
	if st.Format != format {
		return nil, fmt.Errorf("open the state file %s: %w (format line %d, content %d)", path, ErrDamaged, format, st.Format)
	}
	return &st, nil
}

// Matches checks that st is of the deployment and client a command was
// given, naming what differs.
func (st *State) Matches(url, realm, clientID string) error {
	var diff []string
	if strings.TrimRight(st.URL, "/") != strings.TrimRight(url, "/") {
		diff = append(diff, fmt.Sprintf("KC_URL: the state is of %s, given %s", st.URL, url))
	}
	if st.Realm != realm {
		diff = append(diff, fmt.Sprintf("KC_REALM: the state is of %q, given %q", st.Realm, realm))
	}
	if st.ClientID != clientID {
		diff = append(diff, fmt.Sprintf("KC_CLIENT_ID: the state is of %q, given %q", st.ClientID, clientID))
	}
	if len(diff) > 0 {
		return fmt.Errorf("the state file is of another deployment or client: %s", strings.Join(diff, "; "))
	}
	return nil
}

// Erase removes the state file. The content was only ever written
// encrypted, so removing it is enough.
func Erase(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("erase the state file: %w", err)
	}
	return nil
}

// Secrets returns every token the state holds, for a redactor.
func (st *State) Secrets() []string {
	out := make([]string, 0, len(st.Tokens))
	for _, t := range st.Tokens {
		out = append(out, t.Refresh)
	}
	return out
}
