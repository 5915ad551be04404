package offline_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/offline"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestOffline(t *testing.T) { ginkgo.RunSpecs(t, offline.Suite.Prepare()) }
