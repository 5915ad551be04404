package selftest_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/selftest"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestSelftest(t *testing.T) { ginkgo.RunSpecs(t, selftest.Suite.Prepare()) }
