package load_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/load"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestLoad(t *testing.T) { ginkgo.RunSpecs(t, load.Suite.Prepare()) }
