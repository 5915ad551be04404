package kccontainer

import (
	"context"
	"strings"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	cases := map[string]Option{
		"WithAdminCredentials": WithAdminCredentials("", "x"),
		"WithRealmImportFile":  WithRealmImportFile("realm.yaml"),
		"WithExtraArgs":        WithExtraArgs("start-dev"),
		"WithStartupTimeout":   WithStartupTimeout(0),
		"WithLogFile":          WithLogFile(""),
	}
	for name, opt := range cases {
		// Run must refuse before it touches any Docker API.
		_, err := Run(context.Background(), "localhost/keycloak:0.0.0", opt)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want one naming the option", name, err)
		}
	}
}
