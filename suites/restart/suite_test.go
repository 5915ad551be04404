package restart_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/restart"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestRestart(t *testing.T) { ginkgo.RunSpecs(t, restart.Suite.Prepare()) }
