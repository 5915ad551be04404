// Command docgen writes the documentation generated from the code:
// docs/settings.md from pkg/settings's table (make docs).
//
//	go run ./scripts/docgen [-out docs]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"kcconform/pkg/settings"
)

func main() {
	out := flag.String("out", "docs", "the documentation folder")
	flag.Parse()
	p := filepath.Join(*out, "settings.md")
	if err := os.WriteFile(p, []byte(settings.Markdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "docgen: write the settings table:", err)
		os.Exit(2)
	}
	fmt.Println("docgen:", p)
}
