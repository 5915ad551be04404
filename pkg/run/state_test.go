package run

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// notState are the package-level variables of the module that hold no run
// state: values fixed at build or start-up, made once and never changed.
// Each says why. Anything else at package level would be state shared by
// every run of a process; a run's state belongs in a Run.
var notState = map[string]string{
	"cmd/kcconform.ansiCodes":         "a compiled pattern",
	"cmd/kcconform.version":           "set at build time (-ldflags -X)",
	"fixtures.Offline":                "the embedded realm fixture",
	"pkg/repro.nonWord":               "a compiled pattern",
	"scripts/behaviour.numRE":         "a compiled pattern",
	"scripts/bench.scaleCosts":        "a fixed table of the costs the scale benchmark fits",
	"scripts/behaviour.portRE":        "a compiled pattern",
	"scripts/behaviour.realmRE":       "a compiled pattern",
	"scripts/behaviour.uuidRE":        "a compiled pattern",
	"scripts/behaviour.page":          "a parsed template",
	"pkg/repro.script":                "the embedded reproduce.sh",
	"pkg/contract.catalogue":          "the declared promises",
	"pkg/report.classRank":            "the classes' order",
	"pkg/report.setups":               "the declared set-ups a hint can ask for",
	"pkg/release.adminActions":        "the declared administrative actions",
	"pkg/kccontainer._":               "interface assertions",
	"pkg/kccontainer.tagVersion":      "a compiled pattern",
	"pkg/keycloak.DefaultVersion":     "from the embedded versions file",
	"pkg/dist.ansi":                   "a compiled pattern",
	"pkg/dist.jdkRoots":               "where JDKs are installed",
	"pkg/release.releases":            "the declared release lines",
	"pkg/keycloak.ErrNotControlled":   "an error value",
	"pkg/keycloak.runSuffix":          "a compiled pattern",
	"pkg/keycloak.LocalCache":         "a fixed option list",
	"pkg/keycloak/process.errExited":  "an error value",
	"scripts/bench.heapSize":          "a compiled pattern",
	"pkg/keycloak.viewLine":           "a compiled pattern",
	"pkg/ports.mu":                    "guards issued",
	"pkg/state.ErrWrongKey":           "an error value",
	"pkg/state.ErrDamaged":            "an error value",
	"pkg/state.ErrNewer":              "an error value",
	"pkg/state.ErrNotState":           "an error value",
	"cmd/kcconform.deployCommands":    "the declared upgrade commands",
	"scripts/bench.grantsPerSecond":   "a compiled pattern",
	"suites/deployment.rolling":       "a declared upgrade",
	"suites/deployment.recreate":      "a declared upgrade",
	"suites/deployment.watchLine":     "a compiled pattern",
	"pkg/ports.issued":                "ports this process handed out: the kernel's view is per process too, not per run",
	"pkg/profile.named":               "the predefined profiles",
	"pkg/redact.tokenCandidate":       "a compiled pattern",
	"pkg/redact.jwtInClear":           "a compiled pattern",
	"pkg/redact.jwtPattern":           "a compiled pattern",
	"pkg/redact.tokenKeys":            "field names",
	"pkg/redact.secretKeys":           "field names",
	"pkg/report.pageTemplate":         "a parsed template",
	"pkg/settings.versionPattern":     "a compiled pattern",
	"pkg/settings.namePattern":        "a compiled pattern",
	"pkg/settings.runIDPattern":       "a compiled pattern",
	"pkg/settings.Table":              "the declared settings",
	"pkg/settings.internal":           "the declared internal variables",
	"pkg/tokenflow.signingAlgs":       "the accepted algorithms",
	"pkg/transport.ErrBodyTooLarge":   "an error value",
	"pkg/versions.envFile":            "the embedded versions file",
	"pkg/versions.sumsFile":           "the embedded checksums",
	"pkg/versions.Default":            "from the embedded versions file",
	"pkg/versions.UpgradeFrom":        "from the embedded versions file",
	"pkg/versions.PostgresImage":      "from the embedded versions file",
	"pkg/versions.LocalPostgresImage": "from the embedded versions file",
	"pkg/cmds/benchcompare.metrics":   "the metrics compared",
	"scripts/htmlcheck.states":        "the states checked",
	"suites.All":                      "the declared suites",
	"suites/idle.probes":              "the delays probed",
	"suites/restart.graceful":         "a declared way to stop",
	"suites/restart.crash":            "a declared way to stop",
}

// sources parses every non-test Go file of the module.
func sources(t *testing.T, fn func(pkg string, f *ast.File, fset *token.FileSet)) {
	t.Helper()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "bin" || d.Name() == "reports") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		fn(filepath.ToSlash(rel), f, fset)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// No package-level variable holds run state: every one the module declares
// is listed above, with the reason it is not state.
func TestNoPackageVariableHoldsRunState(t *testing.T) {
	seen := 0
	var found []string
	sources(t, func(pkg string, f *ast.File, _ *token.FileSet) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					seen++
					// A suite's definition (framework.Suite) is declared, not state.
					suite := strings.HasPrefix(pkg, "suites/") && n.Name == "Suite"
					if _, ok := notState[pkg+"."+n.Name]; !ok && !suite {
						found = append(found, pkg+"."+n.Name)
					}
				}
			}
		}
	})
	if seen < len(notState)/2 {
		t.Fatalf("found only %d package-level variables: the walk is broken", seen)
	}
	sort.Strings(found)
	for _, v := range found {
		t.Errorf("package-level variable %s: run state belongs in a run.Run (or, if it is not state, say why in notState)", v)
	}
}

// calledAs returns n as a call of one of the functions named "pkg.Func"
// with at least minArgs arguments, and the name it matched; nil otherwise.
func calledAs(n ast.Node, minArgs int, names ...string) (*ast.CallExpr, string) {
	c, ok := n.(*ast.CallExpr)
	if !ok || len(c.Args) < minArgs {
		return nil, ""
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil, ""
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return nil, ""
	}
	name := x.Name + "." + sel.Sel.Name
	if !slices.Contains(names, name) {
		return nil, ""
	}
	return c, name
}

// Only package settings reads the KC_* variables: every other package is
// given what it needs.
func TestOnlySettingsReadsTheEnvironment(t *testing.T) {
	calls := 0
	sources(t, func(pkg string, f *ast.File, fset *token.FileSet) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, name := calledAs(n, 1, "os.Getenv", "os.LookupEnv")
			if call == nil {
				return true
			}
			calls++
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || pkg == "pkg/settings" {
				return true
			}
			if v, _ := strconv.Unquote(lit.Value); strings.HasPrefix(v, "KC_") {
				t.Errorf("%s: %s(%s) outside package settings", fset.Position(call.Pos()), name, lit.Value)
			}
			return true
		})
	})
	if calls == 0 {
		t.Fatal("found no os.Getenv call at all: the walk is broken")
	}
}

// Errors have one form, "<what was being done>: <cause>", and a cause that
// is an error is wrapped with %w (errors.Is and errors.As see through): a
// vet-style check of every fmt.Errorf whose arguments hold an error
// variable (err, or a name ending in err or Err) and whose format has no %w.
func TestErrorfWrapsItsCause(t *testing.T) {
	calls := 0
	sources(t, func(pkg string, f *ast.File, fset *token.FileSet) {
		ast.Inspect(f, func(n ast.Node) bool {
			c, _ := calledAs(n, 2, "fmt.Errorf")
			if c == nil {
				return true
			}
			calls++
			format, ok := c.Args[0].(*ast.BasicLit)
			if !ok || strings.Contains(format.Value, "%w") {
				return true
			}
			for _, a := range c.Args[1:] {
				if id, ok := a.(*ast.Ident); ok && (id.Name == "err" || strings.HasSuffix(id.Name, "Err") || strings.HasSuffix(id.Name, "err")) {
					t.Errorf("%s: fmt.Errorf(%s, …, %s): wrap the cause with %%w", fset.Position(c.Pos()), format.Value, id.Name)
				}
			}
			return true
		})
	})
	if calls < 100 {
		t.Fatalf("only %d fmt.Errorf calls found: the walk is broken", calls)
	}
}

// The kcconform prefix is given once, at the top (the command and its
// subcommands print "kcconform …: <error>"): no error below names a program
// or package as its first word, so that a message never reads "kcconform:
// keycloak: … keycloak: …".
func TestErrorsCarryNoPackagePrefix(t *testing.T) {
	prefix := regexp.MustCompile(`^(kcconform|keycloak|kccontainer|postgres|repro|load|ports|confidence|reaper|admin|tokenflow|framework|contract|report|seed|dist|gateway|release|state|transport|redact|settings|cluster|process|container|launch|plot|chromium): `)
	calls := 0
	sources(t, func(pkg string, f *ast.File, fset *token.FileSet) {
		ast.Inspect(f, func(n ast.Node) bool {
			c, _ := calledAs(n, 1, "fmt.Errorf", "errors.New")
			if c == nil {
				return true
			}
			calls++
			lit, ok := c.Args[0].(*ast.BasicLit)
			if !ok {
				return true
			}
			if v, _ := strconv.Unquote(lit.Value); prefix.MatchString(v) {
				t.Errorf("%s: %s: the prefix belongs to the top (say what was being done)", fset.Position(c.Pos()), lit.Value)
			}
			return true
		})
	})
	if calls < 100 {
		t.Fatalf("only %d error constructions found: the walk is broken", calls)
	}
}
