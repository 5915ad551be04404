package upgrade_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/upgrade"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestUpgrade(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	upgrade.Suite.Register()
	ginkgo.RunSpecs(t, upgrade.Suite.Description)
}
