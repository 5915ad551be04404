package selftest

import (
	"fmt"
	"reflect"
	"runtime"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	. "github.com/onsi/ginkgo/v2"
)

// selfCase is one row of the self-tests: a server or a run set up on
// purpose, the verdict kcconform must give it, and why that verdict is the
// right one. docs/suites.md says how to add one.
type selfCase struct {
	// Name is the spec's title: under 100 characters (cases_test.go).
	Name string
	// Setup is what the case does to the server or to the run.
	Setup string
	// Want is the verdict kcconform must give, and what it must name.
	Want string
	// Why the verdict is right: the promise or the rule at stake.
	Why string
	// Timeout bounds the spec (Ginkgo's SpecTimeout); 0: the suite's.
	Timeout time.Duration
	// Run sets the case up, runs kcconform and checks its verdict.
	Run func(ctx SpecContext)
}

// cases makes each row a spec of the container it is called in; the row's
// set-up, expected verdict and why go into the spec's report.
func cases(rows ...selfCase) {
	for _, c := range rows {
		args := []any{func(ctx SpecContext) {
			AddReportEntry("case", fmt.Sprintf("set-up: %s\nwant: %s\nwhy: %s", c.Setup, c.Want, c.Why))
			c.Run(ctx)
		}}
		if c.Timeout > 0 {
			args = append(args, SpecTimeout(c.Timeout))
		}
		// The spec is located at its row's Run, not here, in reports and
		// in Ginkgo's output.
		if fn := runtime.FuncForPC(reflect.ValueOf(c.Run).Pointer()); fn != nil {
			file, line := fn.FileLine(fn.Entry())
			args = append(args, types.CodeLocation{FileName: file, LineNumber: line})
		}
		It(c.Name, args...)
	}
}
