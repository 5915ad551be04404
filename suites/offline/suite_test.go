// Package offline_test is the conformance suite of the operators' procedure:
// a service account's long-lived offline token, got and refreshed on a real
// Keycloak, and the promises the procedure makes about it.
package offline_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
)

var (
	f     *framework.Framework
	realm *framework.Realm
)

func TestOffline(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kcconform: offline tokens")
}

var _ = framework.DeclareServerSuite("offline", true, func(fw *framework.Framework, r *framework.Realm) { f, realm = fw, r })
