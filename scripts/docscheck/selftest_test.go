package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The self-tests are a table: every spec is a selfCase row with a title
// under 100 characters, its set-up, the verdict it wants and why; no spec
// is written with It outside that table (cases.go).
func TestSelftestIsATable(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "suites", "selftest", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	rows := 0
	var names []string
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "It" && filepath.Base(f) != "cases.go" {
					t.Errorf("%s: a spec written with It outside the table (a selfCase row in cases(...))", fset.Position(x.Pos()))
				}
			case *ast.CompositeLit:
				if id, ok := x.Type.(*ast.Ident); !ok || id.Name != "selfCase" {
					return true
				}
				rows++
				fields := map[string]string{}
				for _, e := range x.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						fields[kv.Key.(*ast.Ident).Name] = s
					} else {
						fields[kv.Key.(*ast.Ident).Name] = "(expression)"
					}
				}
				names = append(names, fields["Name"])
				at := fset.Position(x.Pos())
				if n := len([]rune(fields["Name"])); n == 0 || n >= 100 {
					t.Errorf("%s: title of %d characters, want 1 to 99: %q", at, n, fields["Name"])
				}
				for _, k := range []string{"Setup", "Want", "Why", "Run"} {
					if fields[k] == "" {
						t.Errorf("%s: row %q has no %s", at, fields["Name"], k)
					}
				}
			}
			return true
		})
	}
	if rows < 30 {
		t.Errorf("%d selfCase rows, want the table's 30 or more", rows)
	}
	// A make target that focuses self-test cases by title finds each one
	// (a renamed row would leave Ginkgo nothing to run).
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	focused := 0
	for _, m := range regexp.MustCompile(`--focus '([^']+)' \./suites/selftest`).FindAllStringSubmatch(string(mk), -1) {
		for _, alt := range strings.Split(m[1], "|") {
			focused++
			re := regexp.MustCompile(alt)
			if !slices.ContainsFunc(names, re.MatchString) {
				t.Errorf("Makefile focuses %q, which no self-test row's title matches", alt)
			}
		}
	}
	if focused == 0 {
		t.Error("the Makefile focuses no self-test case: the pattern is broken")
	}
}
