package tls_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/tls"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestTLS(t *testing.T) { ginkgo.RunSpecs(t, tls.Suite.Prepare()) }
