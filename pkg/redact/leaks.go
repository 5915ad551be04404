package redact

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Sink records the SHA-256 fingerprints of the credentials a redactor
// learns in a folder, one file per process, so that a leak scan after the
// run can look for the run's own secrets without ever storing them. Keep the
// folder outside the reports and delete it after the scan: a fingerprint of
// a weak, user-chosen password can be guessed.
type Sink struct {
	dir  string
	once sync.Once
	mu   sync.Mutex
	f    *os.File
}

// NewSink returns a sink writing into dir (nil, which records nothing,
// when dir is empty).
func NewSink(dir string) *Sink {
	if dir == "" {
		return nil
	}
	return &Sink{dir: dir}
}

// record appends a credential's fingerprint to this process's file.
func (k *Sink) record(kind, s string) {
	if k == nil {
		return
	}
	k.once.Do(func() {
		_ = os.MkdirAll(k.dir, 0o700)
		k.f, _ = os.OpenFile(filepath.Join(k.dir, fmt.Sprintf("%d.txt", os.Getpid())), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	})
	if k.f == nil {
		return
	}
	sum := sha256.Sum256([]byte(s))
	chars := "any"
	if isWord([]byte(s)) {
		chars = "word"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	fmt.Fprintf(k.f, "%s %d %s %s\n", kind, len(s), hex.EncodeToString(sum[:]), chars)
}

// wordChar is the alphabet of generated secrets (base64url, hex, Keycloak's
// client secrets).
func wordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isWord(b []byte) bool {
	for _, c := range b {
		if !wordChar(c) {
			return false
		}
	}
	return true
}

// Fingerprints are the recorded credentials of a run.
type Fingerprints struct {
	sums map[[32]byte]string // sha256 -> kind
	// Distinct lengths of secrets (tokens are matched whole): of those made
	// of word characters only, and of the others.
	lengths, anyLengths []int
}

// LoadFingerprints reads every file of a fingerprint folder.
func LoadFingerprints(dir string) (*Fingerprints, error) {
	fp := &Fingerprints{sums: map[[32]byte]string{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	lengths, anyLengths := map[int]bool{}, map[int]bool{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.Fields(sc.Text())
			if len(parts) < 3 {
				continue
			}
			n, _ := strconv.Atoi(parts[1])
			raw, err := hex.DecodeString(parts[2])
			if err != nil || len(raw) != 32 {
				continue
			}
			fp.sums[[32]byte(raw)] = parts[0]
			if parts[0] == "secret" {
				if len(parts) > 3 && parts[3] == "word" {
					lengths[n] = true
				} else {
					anyLengths[n] = true
				}
			}
		}
		f.Close()
	}
	fp.lengths, fp.anyLengths = sortedKeys(lengths), sortedKeys(anyLengths)
	return fp, nil
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// Len is how many credentials are known.
func (fp *Fingerprints) Len() int { return len(fp.sums) }

// tokenCandidate matches what a token in clear text would look like.
var tokenCandidate = regexp.MustCompile(`[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]+){1,4}|[A-Za-z0-9_-]{16,}`)

// Leak is a credential found in clear text, named only by its kind and a
// short fingerprint.
type Leak struct {
	Kind        string
	Fingerprint string
	Offset      int
}

// Scan finds the known credentials in text: tokens as whole words, secrets
// at any position.
func (fp *Fingerprints) Scan(text string) []Leak {
	var leaks []Leak
	b := []byte(text)
	check := func(s []byte, at int) {
		sum := sha256.Sum256(s)
		if kind, ok := fp.sums[sum]; ok {
			leaks = append(leaks, Leak{Kind: kind, Fingerprint: hex.EncodeToString(sum[:6]), Offset: at})
		}
	}
	for _, loc := range tokenCandidate.FindAllIndex(b, -1) {
		check(b[loc[0]:loc[1]], loc[0])
	}
	// run[i] is how many word characters start at i: a window of them is
	// the only place a word-character secret can be.
	run := make([]int32, len(b)+1)
	for i := len(b) - 1; i >= 0; i-- {
		if wordChar(b[i]) {
			run[i] = run[i+1] + 1
		}
	}
	for _, n := range fp.lengths {
		for i := 0; i+n <= len(b); i++ {
			if int(run[i]) >= n {
				check(b[i:i+n], i)
			}
		}
	}
	for _, n := range fp.anyLengths {
		for i := 0; i+n <= len(b); i++ {
			check(b[i:i+n], i)
		}
	}
	return dedupe(leaks)
}

// Before shows up to n bytes of text before the leak, on its line, with
// anything that looks like a credential masked, so a report can say where a
// leak is without repeating one.
func (l Leak) Before(text string, n int) string {
	if l.Offset < 0 || l.Offset > len(text) {
		return ""
	}
	start := max(l.Offset-n, 0)
	ctx := text[start:l.Offset]
	if i := strings.LastIndexByte(ctx, '\n'); i >= 0 {
		ctx = ctx[i+1:]
	}
	ctx = tokenCandidate.ReplaceAllString(ctx, "…")
	return strings.ToValidUTF8(ctx, "")
}

func dedupe(ls []Leak) []Leak {
	seen := map[int]bool{}
	var out []Leak
	for _, l := range ls {
		if !seen[l.Offset] {
			seen[l.Offset] = true
			out = append(out, l)
		}
	}
	return out
}

// jwtInClear matches a signed JWT in clear text.
var jwtInClear = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+`)

// FindJWT returns the first signed JWT in clear text in s ("" if none).
func FindJWT(s string) string { return jwtInClear.FindString(s) }

// FileLeak is a leak found in a file.
type FileLeak struct {
	File string
	Leak
	// Where is the text before the leak on its line, credentials masked.
	Where string
}

// String describes the leak without repeating the credential.
func (l FileLeak) String() string {
	if l.Kind == "JWT" {
		return fmt.Sprintf("LEAK %s: a JWT in clear text at byte %d, after %q", l.File, l.Offset, l.Where)
	}
	return fmt.Sprintf("LEAK %s: a %s in clear text at byte %d (sha256 %s…), after %q", l.File, l.Kind, l.Offset, l.Fingerprint, l.Where)
}

// ScanPaths looks, in every file under the given paths, for the credentials
// of fp (nil: none known) and for any JWT. It fails on a path that cannot
// be read and when it found no file at all: a scan of nothing proves
// nothing.
func ScanPaths(fp *Fingerprints, paths []string) (files int, leaks []FileLeak, err error) {
	for _, root := range paths {
		werr := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			text := string(b)
			if fp != nil {
				for _, l := range fp.Scan(text) {
					leaks = append(leaks, FileLeak{File: p, Leak: l, Where: l.Before(text, 60)})
				}
			}
			for _, loc := range jwtInClear.FindAllStringIndex(text, -1) {
				l := Leak{Kind: "JWT", Offset: loc[0]}
				leaks = append(leaks, FileLeak{File: p, Leak: l, Where: l.Before(text, 60)})
			}
			return nil
		})
		if werr != nil {
			return files, leaks, fmt.Errorf("leak scan: %w", werr)
		}
	}
	if files == 0 {
		return 0, leaks, fmt.Errorf("leak scan: no file found under %s: a scan of nothing proves nothing", strings.Join(paths, ", "))
	}
	return files, leaks, nil
}
