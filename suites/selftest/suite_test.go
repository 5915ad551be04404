package selftest_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/selftest"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestSelftest(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	selftest.Suite.Register()
	ginkgo.RunSpecs(t, selftest.Suite.Description)
}
