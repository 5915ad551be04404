package tls_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/tls"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestTLS(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	tls.Suite.Register()
	ginkgo.RunSpecs(t, tls.Suite.Description)
}
