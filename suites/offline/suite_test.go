package offline_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/suites/offline"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestOffline(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	offline.Suite.Register()
	ginkgo.RunSpecs(t, offline.Suite.Description)
}
