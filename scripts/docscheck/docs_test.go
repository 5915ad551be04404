package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	codeRE    = regexp.MustCompile("`([^`]+)`")
)

// pages are README.md and every page of docs/.
func pages(t *testing.T) []string {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("docs/*.md: %v", err)
	}
	return append([]string{filepath.Join(root, "README.md")}, docs...)
}

// slug is GitHub's anchor of a heading: lower case, punctuation dropped,
// spaces to dashes.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(t *testing.T, page string) map[string]bool {
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range headingRE.FindAllStringSubmatch(stripFences(string(b)), -1) {
		out[slug(m[1])] = true
	}
	return out
}

// stripFences drops fenced code blocks, whose lines are no headings or links.
func stripFences(s string) string {
	var out []string
	in := false
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if !in {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestEveryRelativeLinkResolves(t *testing.T) {
	n := 0
	for _, page := range pages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkRE.FindAllStringSubmatch(stripFences(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			file, frag, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: no such file", rel(page), target)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[frag] {
				t.Errorf("%s: link %q: no heading #%s in %s", rel(page), target, frag, rel(dest))
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d relative links found: the scan is broken", n)
	}
}

func rel(p string) string { r, _ := filepath.Rel(root, p); return r }

// layoutPaths are the paths the layout table names: the first of a cell in
// full, the next ones as siblings unless they hold a slash.
func layoutPaths(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(root, "docs", "layout.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "| `") {
			continue
		}
		cell := strings.SplitN(l, "|", 3)[1]
		dir := "."
		for i, m := range codeRE.FindAllStringSubmatch(cell, -1) {
			p := m[1]
			if i == 0 || strings.Contains(p, "/") {
				dir = filepath.Dir(p)
			} else {
				p = filepath.Join(dir, p)
			}
			out = append(out, p)
		}
	}
	return out
}

func TestLayoutMatchesTheTree(t *testing.T) {
	named := layoutPaths(t)
	for _, p := range named {
		ms, _ := filepath.Glob(filepath.Join(root, p))
		if len(ms) == 0 {
			t.Errorf("docs/layout.md names %s, which the tree does not hold", p)
		}
	}
	covered := func(p string) bool {
		for _, n := range named {
			if n == p || strings.HasPrefix(p, n+"/") || strings.HasPrefix(n, p+"/") {
				return true
			}
			if ok, _ := filepath.Match(n, p); ok {
				return true
			}
		}
		return false
	}
	var want []string
	for _, parent := range []string{"pkg", "suites", "scripts", "cmd", "deploy", "fixtures"} {
		ents, err := os.ReadDir(filepath.Join(root, parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				want = append(want, parent+"/"+e.Name())
			}
		}
	}
	want = append(want, "docs", "Makefile", "README.md", "docker-compose.yml", "go.mod", ".ci/run", ".github/workflows/conformance.yml")
	for _, w := range want {
		if !covered(w) {
			t.Errorf("docs/layout.md does not name %s", w)
		}
	}
}

// Every path of the tree that README or docs/ names in backquotes exists:
// a file moved or renamed leaves no stale pointer behind.
func TestNamedPathsExist(t *testing.T) {
	named := regexp.MustCompile("`((?:pkg|suites|scripts|cmd|fixtures|deploy|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_])`")
	checked := 0
	for _, p := range pages(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(b), -1) {
			if strings.ContainsAny(m[1], "*") {
				continue
			}
			checked++
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("%s names %s, which the tree does not hold", filepath.Base(p), m[1])
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d paths checked: the pattern is broken", checked)
	}
}
