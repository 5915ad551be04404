// Package offline_test is the conformance suite of the operators' procedure:
// a service account's long-lived offline token, got and refreshed on a real
// Keycloak, and the promises the procedure makes about it.
package offline_test

import (
	"context"
	"testing"
	"time"

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

var _ = SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	return framework.StartServer(ctx)
}, func(ctx context.Context, data []byte) {
	f = framework.Connect(ctx, data)
	realm = f.ProvisionRealm(ctx, "offline")
}, NodeTimeout(10*time.Minute))

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() {
		f.AttachServerLog()
	}
})
