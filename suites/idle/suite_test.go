package idle_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/idle"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestIdle(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	idle.Suite.Register()
	ginkgo.RunSpecs(t, idle.Suite.Description)
}
