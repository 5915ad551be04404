// Package cli is what the subcommands share in parsing their flags.
package cli

import (
	"errors"
	"flag"
)

// Parse parses args into fs (made with flag.ContinueOnError, its output
// set). It returns ok where the subcommand goes on; otherwise the exit
// status: 0 after --help, 2 after a flag error (fs printed it).
func Parse(fs *flag.FlagSet, args []string) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}
