// Command leakscan looks for a run's own credentials in clear text: every
// token and secret the run's processes registered (their fingerprints, from
// $KC_LEAK_FINGERPRINTS), and any JWT at all, in the given files and
// folders. It prints each leak by file, kind and fingerprint, never the
// credential, and exits 1 if there is one, or if it scanned nothing or
// could not read a path.
//
//	go run ./scripts/leakscan -fingerprints DIR reports/ test-output.log
package main

import (
	"flag"
	"fmt"
	"os"

	"kcconform/pkg/redact"
	"kcconform/pkg/settings"
)

func main() {
	dir := flag.String("fingerprints", os.Getenv(settings.FingerprintsEnv), "folder of fingerprint files")
	flag.Parse()
	fp, err := redact.LoadFingerprints(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscan:", err)
		os.Exit(2)
	}
	if fp.Len() == 0 {
		fmt.Fprintln(os.Stderr, "leakscan: no fingerprints recorded: was the run made with", settings.FingerprintsEnv, "set?")
		os.Exit(2)
	}
	files, leaks, err := redact.ScanPaths(fp, flag.Args())
	for _, l := range leaks {
		fmt.Println(l.String())
	}
	fmt.Printf("leakscan: %d file(s) scanned for %d credential(s) of the run and any JWT: %d leak(s)\n", files, fp.Len(), len(leaks))
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscan:", err)
		os.Exit(1)
	}
	if len(leaks) > 0 {
		os.Exit(1)
	}
}
