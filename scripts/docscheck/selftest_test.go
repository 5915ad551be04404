package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
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
}
