package upgrade_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/upgrade"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestUpgrade(t *testing.T) { ginkgo.RunSpecs(t, upgrade.Suite.Prepare()) }
