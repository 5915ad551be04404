package profile

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDocumentedIsTheProcedure(t *testing.T) {
	p, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresIn != 31536000 || p.RefreshExpiresIn != 0 || p.TokenType != "bearer" || p.ScopeContains[0] != "offline_access" {
		t.Fatalf("documented profile = %+v", p)
	}
}

func TestOverrides(t *testing.T) {
	p, err := FromEnv(env(map[string]string{"KC_EXPECT_EXPIRES_IN": "300", "KC_EXPECT_REFRESH_EXPIRES_IN": "2592000", "KC_EXPECT_SCOPE": "offline_access,email"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresIn != 300 || p.RefreshExpiresIn != 2592000 || len(p.ScopeContains) != 2 {
		t.Fatalf("overrides not applied: %+v", p)
	}
}

func TestBadSettingsNameTheField(t *testing.T) {
	cases := map[string]map[string]string{
		"KC_PROFILE":                 {"KC_PROFILE": "nope"},
		"KC_EXPECT_EXPIRES_IN":       {"KC_EXPECT_EXPIRES_IN": "one year"},
		"KC_EXPECT_TOKEN_TYPE_EXACT": {"KC_EXPECT_TOKEN_TYPE_EXACT": "maybe"},
	}
	for field, m := range cases {
		_, err := FromEnv(env(m))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v, want one naming the field", field, err)
		}
	}
}
