package settings

import (
	"fmt"
	"strings"
)

// Setting is one KC_* setting: its variable, the flag that mirrors it, its
// default and what it means. kcconform --help lists them all.
type Setting struct {
	Env, Flag, Default, Meaning string
	// Secret settings are never echoed.
	Secret bool
}

// Table is every setting a user gives kcconform (Parse reads no other
// user setting: settings_test.go proves it).
var Table = []Setting{
	{"KC_TARGET", "target", "container where a Docker API answers, else process", "process: the official distribution on loopback; container: testcontainers-go with KC_IMAGE; external: an already running server at KC_URL", false},
	{"KC_URL", "url", "", "base URL of an external Keycloak, with any path prefix, e.g. https://api-gw-service-nmn.local/keycloak", false},
	{"KC_REALM", "realm", "", "realm of an existing client to test (the procedure's shasta); with admin rights: an audit that changes nothing in it", false},
	{"KC_CLIENT_ID", "client-id", "", "id of the existing client (the procedure's my-test-client)", false},
	{"KC_CLIENT_SECRET", "client-secret", "", "secret of the existing client; read through the admin API when admin rights are given", true},
	{"KC_ADMIN_USER", "admin-user", "", "administrator (through admin-cli) of an external server", false},
	{"KC_ADMIN_PASSWORD", "admin-password", "", "the administrator's password", true},
	{"KC_ADMIN_CLIENT_ID", "admin-client-id", "", "or an admin service-account client", false},
	{"KC_ADMIN_CLIENT_SECRET", "admin-client-secret", "", "that client's secret", true},
	{"KC_ADMIN_REALM", "admin-realm", "master", "realm the administrator belongs to", false},
	{"KC_CA_FILE", "ca-file", "", "PEM file of CA certificates to trust besides the system's", false},
	{"KC_INSECURE_SKIP_VERIFY", "insecure-skip-verify", "false", "turn TLS verification off (the verdict says so loudly)", false},
	{"KC_ALLOW_PLAIN_HTTP", "allow-plain-http", "false", "send credentials over plain http to a host that is not loopback (the verdict says so loudly)", false},
	{"KC_TIMEOUT", "timeout", "30s", "deadline of every network call (seconds, or 30s, 2m)", false},
	{"KC_BOOT_TIMEOUT", "boot-timeout", "3m", "deadline for a Keycloak the harness starts to become ready", false},
	{"KC_VERSION", "keycloak-version", "the default version (--version)", "Keycloak version of the process and container targets", false},
	{"KC_IMAGE", "image", "quay.io/keycloak/keycloak:VERSION", "container image; one labelled by scripts/build-image.sh for the database starts --optimized, any other with start-dev", false},
	{"KC_POSTGRES_IMAGE", "postgres-image", "postgres:16", "PostgreSQL image of the container target's restart and upgrade suites", false},
	{"KC_CACHE_DIR", "cache-dir", "~/.cache/kcconform", "cached distributions and builds", false},
	{"KC_MAVEN_REPO_URL", "maven-repo-url", "", "base URL of a Maven repository, used only where mvn is not installed", false},
	{"JAVA_HOME", "java-home", "the preferred supported JDK under /usr/lib/jvm", "JDK of the process target", false},
	{"PG_BIN", "pg-bin", "the newest /usr/lib/postgresql/*/bin", "PostgreSQL server binaries of the process target's restart and upgrade suites", false},
	{"KC_FIXTURE", "fixture", "fixtures/realms/offline.json", "realm representation each run creates in provisioned mode (renamed kcconform-…)", false},
	{"KC_PROFILE", "profile", "documented", "expectations: documented (the procedure's) or rfc6749 (a wrong secret must give invalid_client)", false},
	{"KC_EXPECT_SCOPE", "expect-scope", "offline_access", "scope values the answer must contain", false},
	{"KC_EXPECT_EXPIRES_IN", "expect-expires-in", "31536000", "expected expires_in (seconds)", false},
	{"KC_EXPECT_REFRESH_EXPIRES_IN", "expect-refresh-expires-in", "0", "expected refresh_expires_in (seconds)", false},
	{"KC_EXPECT_TOKEN_TYPE", "expect-token-type", "bearer", "expected token_type", false},
	{"KC_EXPECT_TOKEN_TYPE_EXACT", "expect-token-type-exact", "false", "compare token_type case-sensitively", false},
	{"KC_EXPECT_BAD_SECRET_ERROR", "expect-bad-secret-error", "invalid_client,unauthorized_client", "OAuth errors accepted for a wrong client secret", false},
	{"KC_EXPECT_OFFLINE_IDLE_MIN", "expect-offline-idle-min", "30d", "shortest offline session idle timeout accepted (read with admin rights)", false},
	{"KC_EXPECT_ISSUER", "expect-issuer", "the realm URL of KC_URL", "issuer the tokens must carry, where the public issuer differs from KC_URL", false},
	{"KC_UPGRADE_FROM", "upgrade-from", "the version pkg/versions names", "older version of the upgrade suite", false},
	{"KC_UPGRADE_TO", "upgrade-to", "the default version", "newer version of the upgrade suite", false},
	{"KC_UPGRADE_VIA", "upgrade-via", "", "intermediate versions of the upgrade suite, comma-separated, each started on the database and stopped in turn between FROM and TO", false},
	{"KC_LOAD_RATES", "load-rates", "25,50,100", "the load suite's steps: requests per second, comma-separated (1 to 2000 each)", false},
	{"KC_LOAD_STEP", "load-step", "5s", "the load suite's time at each rate (up to 1m)", false},
	{"KC_CLUSTER_URLS", "cluster-urls", "", "an external cluster's nodes: their own base URLs, comma-separated, beside KC_URL (the gateway)", false},
	{"KC_CLUSTER_NODES", "cluster-nodes", "3", "nodes of the cluster the cluster suite starts (2 to 5)", false},
	{"KC_CLUSTER_RATE", "cluster-rate", "10", "refreshes per second, from up to 10 clients in all, through the gateway during the cluster suite's rolling restart and upgrade (1 to 200)", false},
	{"KC_CLUSTER_UPGRADE_TO", "cluster-upgrade-to", "", "the version the cluster suite upgrades its nodes to (node by node where Keycloak allows it, else all at once); empty: no upgrade", false},
	{"KC_RUN_ID", "run-id", "random", "tag of this run's objects on the server (lower-case letters, digits, dashes)", false},
	{"KC_REPORT_DIR", "report-dir", "reports", "folder of the reports and server logs", false},
}

// Variables a run hands to its own processes (the command to its suites,
// make test to Ginkgo's processes); no user sets them.
const (
	// RunKeyEnv is the run's secret key, from which the passwords of the
	// servers it starts are derived.
	RunKeyEnv = "KC_RUN_KEY"
	// FingerprintsEnv is a folder where every process of the run records the
	// fingerprints of the credentials it learns, for the leak scan.
	FingerprintsEnv = "KC_LEAK_FINGERPRINTS"
	// BinaryEnv is the kcconform command the self-checks run.
	BinaryEnv = "KC_BINARY"
	// ColorEnv asks the suites' output for terminal colours.
	ColorEnv = "KC_COLOR"
	// BinaryImageEnv is kcconform's container image (make image), with
	// which the deployment suite runs before and after under Podman.
	BinaryImageEnv = "KC_BINARY_IMAGE"
)

// internal lists the variables above.
var internal = []string{RunKeyEnv, FingerprintsEnv, BinaryEnv, ColorEnv, BinaryImageEnv}

// Markdown is docs/settings.md, generated from Table (go run
// ./scripts/docgen; a test fails when the file drifts from the table).
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Settings

[Back to the README](../README.md). Generated from ` + "`pkg/settings`" + `'s table by ` + "`make docs`" + `: do not edit.

Every setting is a variable and a flag of the same meaning (` + "`kcconform --help`" + `). A bad value is refused
before any request, naming the variable and what was expected. One package reads them (` + "`pkg/settings`" + `,
the only code that calls ` + "`os.Getenv`" + ` for a ` + "`KC_*`" + ` variable; ` + "`pkg/run`" + `'s tests check that): the command
parses flags and variables once into a run and hands it to each suite process as variables again. Secrets
are best given in the environment, never echoed.

| variable | flag | default | meaning |
|---|---|---|---|
`)
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, s := range Table {
		def := s.Default
		if def == "" {
			def = "none"
		}
		meaning := s.Meaning
		if s.Secret {
			meaning += " (a secret: never echoed)"
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | %s | %s |\n", s.Env, s.Flag, cell(def), cell(meaning))
	}
	b.WriteString(`
The profile (the expected values) is chosen apart from the fixture on purpose: a misconfigured or regressed
server fails the run; it does not quietly change what is expected.
`)
	return b.String()
}
