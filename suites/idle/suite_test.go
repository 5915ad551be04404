package idle_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/idle"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestIdle(t *testing.T) { ginkgo.RunSpecs(t, idle.Suite.Prepare()) }
