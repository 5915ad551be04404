package keycloak

import (
	"strings"
	"testing"

	"kcconform/pkg/admin"
)

func TestBootstrapAdminEnv(t *testing.T) {
	if got := BootstrapAdminEnv("26.7.3", "u", "p")[0]; !strings.HasPrefix(got, "KC_BOOTSTRAP_ADMIN_USERNAME=") {
		t.Fatal(got)
	}
	if got := BootstrapAdminEnv("25.0.6", "u", "p")[0]; !strings.HasPrefix(got, "KEYCLOAK_ADMIN=") {
		t.Fatal(got)
	}
}

// What crosses the channel between Ginkgo's parallel processes holds no
// secret: each process takes them from its own environment.
func TestInfoMarshalsNoSecret(t *testing.T) {
	i := Info{Target: TargetExternal, BaseURL: "https://gw/keycloak",
		Admin:  admin.Credentials{Username: "admin", Password: "admin-password-1", ClientID: "c", ClientSecret: "admin-client-secret-1"},
		Client: &ExistingClient{Realm: "shasta", ClientID: "my-test-client", Secret: "client-secret-1"}}
	b := string(i.Marshal())
	for _, secret := range []string{"admin-password-1", "admin-client-secret-1", "client-secret-1"} {
		if strings.Contains(b, secret) {
			t.Errorf("Marshal holds %q: %s", secret, b)
		}
	}
	if i.Client.Secret != "client-secret-1" || i.Admin.Password != "admin-password-1" {
		t.Fatal("Marshal changed the Info it was called on")
	}
	back, err := UnmarshalInfo([]byte(b))
	if err != nil || back.BaseURL != i.BaseURL || back.Client.ClientID != "my-test-client" {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
