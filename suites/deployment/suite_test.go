package deployment_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"kcconform/suites/deployment"
)

// The ginkgo command knows a Ginkgo suite by its import of ginkgo here.
func TestDeployment(t *testing.T) { ginkgo.RunSpecs(t, deployment.Suite.Prepare()) }
