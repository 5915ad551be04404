package report

import (
	"os"
	"strings"
)

// LastLines returns the last n lines of s.
func LastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// TailFile returns the last n lines of a file ("" if unreadable).
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return LastLines(string(b), n)
}

// Exit statuses of the kcconform command, one per verdict; ExitLeak is a
// credential of the run found in its output or reports.
const (
	ExitPass     = 0
	ExitFail     = 1
	ExitCouldNot = 2
	ExitLeak     = 3
)

// ExitCode is the command's exit status for a verdict; an interrupted run
// exits as a failed one.
func (s Status) ExitCode() int {
	switch s {
	case StatusPass:
		return ExitPass
	case StatusCouldNot:
		return ExitCouldNot
	}
	return ExitFail
}
