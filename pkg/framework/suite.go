package framework

import (
	"os"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"kcconform/pkg/run"
	"kcconform/pkg/settings"
)

// Suite is a suite's definition: the kcconform command and the suite's own
// test package both run it.
type Suite struct {
	// Name selects the suite (kcconform --suite NAME).
	Name string
	// Description is the suite's title in reports.
	Description string
	// Register declares the suite's set-up and specs for a run.
	Register func(r *run.Run)
}

// failT is the testing.T stand-in of a suite run outside go test: Ginkgo
// only needs Fail.
type failT struct{ failed bool }

func (f *failT) Fail() { f.failed = true }

// Prepare sends Gomega's failures to Ginkgo and declares the suite's specs
// for the run this process belongs to (its environment); it returns the
// title to pass to ginkgo.RunSpecs. Settings that do not parse fail the
// suite before any spec, naming the variable.
func (s Suite) Prepare() string {
	st, err := settings.FromEnvironment()
	return s.prepare(st, err)
}

// Preview declares the suite's specs for a listing (ginkgo.PreviewSpecs),
// which runs none: no settings are read.
func (s Suite) Preview() {
	s.Register(run.New(settings.Settings{}))
}

func (s Suite) prepare(st settings.Settings, err error) string {
	gomega.RegisterFailHandler(ginkgo.Fail)
	if err != nil {
		ginkgo.BeforeSuite(func() { ginkgo.Fail("kcconform settings: " + err.Error()) })
		return s.Description
	}
	if cfg, _ := ginkgo.GinkgoConfiguration(); st.RunKey == "" && cfg.ParallelTotal > 1 {
		// Started by the ginkgo command rather than kcconform or make: the
		// processes share a key through a private file, removed at the end.
		key, path, err := sharedKey()
		if err != nil {
			ginkgo.BeforeSuite(func() { ginkgo.Fail("kcconform run key: " + err.Error()) })
			return s.Description
		}
		st.RunKey = string(key)
		ginkgo.ReportAfterSuite("remove the run key", func(ginkgo.Report) { os.Remove(path) })
	}
	s.Register(run.New(st))
	return s.Description
}

// RunStandalone runs a suite in the kcconform command, with Ginkgo's
// configuration given, and reports whether it passed.
func RunStandalone(s Suite, st settings.Settings, suiteCfg types.SuiteConfig, reporterCfg types.ReporterConfig) bool {
	t := &failT{}
	ok := ginkgo.RunSpecs(t, s.prepare(st, nil), suiteCfg, reporterCfg)
	return ok && !t.failed
}
