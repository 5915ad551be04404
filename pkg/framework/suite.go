package framework

import (
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// Suite is a suite's definition: the kcconform command and the suite's own
// test package both run it.
type Suite struct {
	// Name selects the suite (kcconform --suite NAME).
	Name string
	// Description is the suite's title in reports.
	Description string
	// Register declares the suite's set-up and specs.
	Register func()
}

// failT is the testing.T stand-in of a suite run outside go test: Ginkgo
// only needs Fail.
type failT struct{ failed bool }

func (f *failT) Fail() { f.failed = true }

// Prepare sends Gomega's failures to Ginkgo and declares the suite's specs;
// it returns the title to pass to ginkgo.RunSpecs.
func (s Suite) Prepare() string {
	gomega.RegisterFailHandler(ginkgo.Fail)
	s.Register()
	return s.Description
}

// RunStandalone runs a suite in the kcconform command, with Ginkgo's
// configuration given, and reports whether it passed.
func RunStandalone(s Suite, suiteCfg types.SuiteConfig, reporterCfg types.ReporterConfig) bool {
	t := &failT{}
	ok := ginkgo.RunSpecs(t, s.Prepare(), suiteCfg, reporterCfg)
	return ok && !t.failed
}
