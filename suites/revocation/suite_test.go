// Package revocation_test checks the procedure's last promise: an
// administrator can revoke offline tokens. For every administrative action of
// the reference table, the next refresh is refused with 400 invalid_grant,
// and a control token of another client in the same realm keeps working.
package revocation_test

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

func TestRevocation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kcconform: revocation")
}

var _ = SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	return framework.StartServer(ctx)
}, func(ctx context.Context, data []byte) {
	f = framework.Connect(ctx, data)
	if f.Admin != nil {
		realm = f.ProvisionRealm(ctx, "revocation")
	}
}, NodeTimeout(10*time.Minute))

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() {
		f.AttachServerLog()
	}
})
