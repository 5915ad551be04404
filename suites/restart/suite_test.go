package restart_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/restart"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestRestart(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	restart.Suite.Register()
	ginkgo.RunSpecs(t, restart.Suite.Description)
}
