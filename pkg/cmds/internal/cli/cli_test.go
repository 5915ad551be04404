package cli

import (
	"flag"
	"io"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
		ok     bool
	}{{nil, 0, true}, {[]string{"--help"}, 0, false}, {[]string{"-nope"}, 2, false}, {[]string{"-n", "x"}, 2, false}} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Int("n", 0, "")
		if status, ok := Parse(fs, c.args); status != c.status || ok != c.ok {
			t.Errorf("%v: %d %v, want %d %v", c.args, status, ok, c.status, c.ok)
		}
	}
}
