// Package revocation_test checks the procedure's last promise: an
// administrator can revoke offline tokens. For every administrative action of
// the reference table, the next refresh is refused with 400 invalid_grant,
// and a control token of another client in the same realm keeps working.
package revocation_test

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

func TestRevocation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kcconform: revocation")
}

var _ = framework.DeclareServerSuite("revocation", true, func(fw *framework.Framework, r *framework.Realm) { f, realm = fw, r })
