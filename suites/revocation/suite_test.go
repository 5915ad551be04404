package revocation_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/revocation"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestRevocation(t *testing.T) { ginkgo.RunSpecs(t, revocation.Suite.Prepare()) }
