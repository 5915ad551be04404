// Package docscheck holds the documentation's checks, run by make unit: every
// relative link of README.md and docs/ resolves (file and heading), and the
// layout table of docs/layout.md names every package, suite and script of
// the tree and nothing that is not in it.
package docscheck
