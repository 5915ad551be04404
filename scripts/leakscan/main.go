// Command leakscan looks for a run's own credentials in clear text: every
// token and secret the run's processes registered (their fingerprints, from
// $KC_LEAK_FINGERPRINTS), and any JWT at all, in the given files and
// folders. It prints each leak by file, kind and fingerprint, never the
// credential, and exits 1 if there is one.
//
//	go run ./scripts/leakscan -fingerprints DIR reports/ test-output.log
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"kcconform/pkg/redact"
)

var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+`)

func main() {
	dir := flag.String("fingerprints", os.Getenv(redact.FingerprintsEnv), "folder of fingerprint files")
	flag.Parse()
	fp, err := redact.LoadFingerprints(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscan:", err)
		os.Exit(2)
	}
	if fp.Len() == 0 {
		fmt.Fprintln(os.Stderr, "leakscan: no fingerprints recorded: was the run made with", redact.FingerprintsEnv, "set?")
		os.Exit(2)
	}
	files, leaks := 0, 0
	for _, root := range flag.Args() {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			text := string(b)
			for _, l := range fp.Scan(text) {
				leaks++
				fmt.Printf("LEAK %s: a %s in clear text at byte %d (sha256 %s…), after %q\n", p, l.Kind, l.Offset, l.Fingerprint, l.Before(text, 60))
			}
			for _, loc := range jwt.FindAllStringIndex(text, -1) {
				leaks++
				fmt.Printf("LEAK %s: a JWT in clear text at byte %d\n", p, loc[0])
			}
			return nil
		})
	}
	fmt.Printf("leakscan: %d file(s) scanned for %d credential(s) of the run and any JWT: %d leak(s)\n", files, fp.Len(), leaks)
	if leaks > 0 {
		os.Exit(1)
	}
}
