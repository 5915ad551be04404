package revocation_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/revocation"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestRevocation(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	revocation.Suite.Register()
	ginkgo.RunSpecs(t, revocation.Suite.Description)
}
