package cluster_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/cluster"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestCluster(t *testing.T) { ginkgo.RunSpecs(t, cluster.Suite.Prepare()) }
