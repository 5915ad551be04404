// Package repro writes and replays reproduction bundles: for a failed
// promise, a folder a developer can attach to an issue of Keycloak's
// tracker. It holds the realm as the run had it (a partial export through
// the admin API: Keycloak masks the secrets, and the run's own credentials
// are redacted again), the version, target and settings (no secrets), the
// requests the run sent as the procedure's curl commands, and one script,
// reproduce.sh, that starts that Keycloak release with that realm, sends
// the failing step's requests and checks the promise again.
//
// The script needs bash, curl, jq, tar, a JDK the release runs on and Maven
// (or KC_DIST, the distribution's archive). Its exit status is kcconform's:
// 1 the failure reproduced, 0 the server kept the promise, 2 it could not
// run.
package repro

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"kcconform/pkg/contract"
	"kcconform/pkg/profile"
	"kcconform/pkg/release"
)

//go:embed reproduce.sh
var script []byte

// Step is one request of a scripted reproduction.
type Step string

// The steps reproduce.sh knows.
const (
	// Get is the procedure's get (client_credentials, scope=offline_access).
	Get Step = "get"
	// GetOnline is the get without scope=offline_access.
	GetOnline Step = "get-online"
	// GetWrongSecret is the get with a wrong client secret.
	GetWrongSecret Step = "get-wrong-secret"
	// Refresh refreshes with the last refresh token.
	Refresh Step = "refresh"
	// RefreshStored refreshes with the first get's refresh token again.
	RefreshStored Step = "refresh-stored"
	// RefreshGarbage refreshes with a refresh token that is not one.
	RefreshGarbage Step = "refresh-garbage"
	// Introspect introspects the last access token (RFC 7662).
	Introspect Step = "introspect"
	// DeleteOfflineSession deletes the last answer's offline session
	// through the admin API, as an administrator revokes it.
	DeleteOfflineSession Step = "delete-offline-session"
	// RevokeConsent deletes the service account's consent to the client
	// through the admin API: the revocation releases before the offline
	// session delete (keycloak's table of admin actions) perform.
	RevokeConsent Step = "revoke-consent"
)

// Check is what reproduce.sh holds the last answer to: its HTTP status and,
// where set, a jq expression over its JSON body that is true when the
// promise is kept ($client and $issuer are bound to the client id and the
// replayed server's issuer).
type Check struct {
	Status int    `json:"status"`
	JQ     string `json:"jq,omitempty"`
}

// Scenario is the scripted reproduction of one promise.
type Scenario struct {
	Steps []Step `json:"steps"`
	Check Check  `json:"check"`
}

// ScenarioFor returns the scripted reproduction of a promise held to the
// profile p on a release (version; the revocation is one that release
// performs), if there is one: promises that need more than a server, a
// realm and a few requests (a restart, a cluster, load) have none, and their
// bundle holds the requests without a script that replays them.
func ScenarioFor(id contract.ID, p profile.Profile, version string) (Scenario, bool) {
	tok := func(jq string) Scenario { return Scenario{[]Step{Get}, Check{200, jq}} }
	switch id {
	case contract.Get:
		return tok(`(.access_token|type) == "string"`), true
	case contract.AccessToken:
		return tok(`(.access_token|type) == "string" and (.access_token|length) > 0`), true
	case contract.RefreshToken:
		return tok(`(.refresh_token|type) == "string" and (.refresh_token|length) > 0`), true
	case contract.Scope:
		var parts []string
		for _, w := range p.ScopeContains {
			parts = append(parts, fmt.Sprintf(`((.scope // "")|split(" ")|index(%q)) != null`, w))
		}
		if len(parts) == 0 {
			return Scenario{}, false
		}
		return tok(strings.Join(parts, " and ")), true
	case contract.RefreshExpiresIn:
		return tok(fmt.Sprintf(`.refresh_expires_in == %d`, p.RefreshExpiresIn)), true
	case contract.ExpiresIn:
		return tok(fmt.Sprintf(`.expires_in != null and .expires_in <= %d and .expires_in >= %d`, p.ExpiresIn, p.ExpiresIn-1)), true
	case contract.TokenType:
		if p.TokenTypeExact {
			return tok(fmt.Sprintf(`.token_type == %q`, p.TokenType)), true
		}
		return tok(fmt.Sprintf(`((.token_type // "")|ascii_downcase) == %q`, strings.ToLower(p.TokenType))), true
	case contract.NotBeforePolicy:
		return tok(`(.["not-before-policy"]|type) == "number"`), true
	case contract.AccessLifetime:
		return tok(`(.access_token|jwt) as $c | (($c.exp - $c.iat) - .expires_in) | (if . < 0 then -. else . end) <= 1`), true
	case contract.RefreshTyp:
		return tok(`(.refresh_token|jwt|.typ) == "Offline"`), true
	case contract.RefreshExp:
		return tok(`((.refresh_token|jwt|.exp) // 0) == 0`), true
	case contract.Azp:
		return tok(`(.access_token|jwt|.azp) == $client`), true
	case contract.Issuer:
		return tok(`(.access_token|jwt|.iss) == $issuer`), true
	case contract.Refresh:
		return Scenario{[]Step{Get, Refresh}, Check{200, `(.access_token|type) == "string"`}}, true
	case contract.StoredToken:
		return Scenario{[]Step{Get, Refresh, RefreshStored}, Check{200, `(.access_token|type) == "string"`}}, true
	case contract.AdminRevocation:
		revoke := DeleteOfflineSession
		if ok, _ := release.Action(release.ActionSessionDelete).Performs(version); !ok {
			revoke = RevokeConsent
		}
		return Scenario{[]Step{Get, revoke, Refresh}, Check{400, `.error == "invalid_grant"`}}, true
	case contract.Introspection:
		return Scenario{[]Step{Get, Introspect}, Check{200, `.active == true`}}, true
	case contract.WrongSecretRefused:
		return Scenario{[]Step{GetWrongSecret}, Check{Status: 401}}, true
	case contract.GarbageRefreshRefused:
		return Scenario{[]Step{RefreshGarbage}, Check{400, `.error == "invalid_grant"`}}, true
	case contract.OnlineGet:
		return Scenario{[]Step{GetOnline}, Check{200, `(.access_token|type) == "string"`}}, true
	case contract.OnlineScope:
		return Scenario{[]Step{GetOnline}, Check{200, `((.scope // "")|split(" ")|index("offline_access")) == null`}}, true
	case contract.OnlineRefreshExpiresIn:
		return Scenario{[]Step{GetOnline}, Check{200, `(.refresh_expires_in // 0) > 0`}}, true
	case contract.OnlineRefreshTyp:
		return Scenario{[]Step{GetOnline}, Check{200, `(.refresh_token|jwt|.typ) == "Refresh"`}}, true
	}
	return Scenario{}, false
}

// Failure is one failed check as the verdict shows it.
type Failure struct {
	Promise  string `json:"promise"`
	Key      string `json:"key"`
	Expected string `json:"expected"`
	Sent     string `json:"sent"`
	Hint     string `json:"hint,omitempty"`
}

// Manifest is manifest.json: what failed, where, and how reproduce.sh
// replays it. It holds no secret.
type Manifest struct {
	Version string `json:"version"`
	Target  string `json:"target"`
	Suite   string `json:"suite"`
	Spec    string `json:"spec"`
	Realm   string `json:"realm"`
	// ClientID is the procedure's client, whose secret reproduce.sh sets
	// anew before the import.
	ClientID string    `json:"clientId"`
	Created  time.Time `json:"created"`
	// Failures are every failed check of the spec; Replayed is the one the
	// scenario checks again (the first with a scenario).
	Failures []Failure `json:"failures"`
	Replayed *Failure  `json:"replayed,omitempty"`
	Scenario *Scenario `json:"scenario,omitempty"`
	// Settings are the run's settings that shaped the answer (no secrets).
	Settings map[string]string `json:"settings,omitempty"`
}

// Bundle is what Write puts in a bundle's folder.
type Bundle struct {
	Manifest Manifest
	// Realm is the partial export, redacted (nil: none could be read, e.g.
	// without admin rights).
	Realm []byte
	// Requests are the curl commands the spec sent, with the answers,
	// redacted.
	Requests []string
	// ServerLog is the server log's tail, redacted.
	ServerLog string
}

// Folder is a bundle's folder name for a spec: short, readable, unique per
// spec text and process.
func Folder(spec string, process int) string {
	s := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(spec), "-"), "-")
	if len(s) > 60 {
		// Cut at a word's end.
		if i := strings.LastIndex(s[:61], "-"); i > 0 {
			s = s[:i]
		} else {
			s = s[:60]
		}
	}
	return fmt.Sprintf("%s-p%d", s, process)
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// Write writes the bundle into dir (created; an earlier bundle there is
// replaced).
func Write(dir string, b Bundle) error {
	if b.Manifest.Version == "" || b.Manifest.Realm == "" || b.Manifest.ClientID == "" {
		return errors.New("a bundle needs the version, the realm and the client id")
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear the bundle folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make the bundle folder: %w", err)
	}
	m, err := json.MarshalIndent(b.Manifest, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	files := map[string][]byte{
		"manifest.json": append(m, '\n'),
		"requests.txt":  []byte(requestsText(b.Requests)),
		"README.md":     []byte(readme(b)),
	}
	if b.Realm != nil {
		files["realm.json"] = b.Realm
	}
	if b.ServerLog != "" {
		files["server-log-tail.txt"] = []byte(b.ServerLog)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write the bundle's %s: %w", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "reproduce.sh"), script, 0o755); err != nil {
		return fmt.Errorf("write the bundle's reproduce.sh: %w", err)
	}
	return nil
}

func requestsText(reqs []string) string {
	var b strings.Builder
	b.WriteString("# The requests the failing spec sent, as the procedure's curl commands, with the answers (redacted).\n")
	b.WriteString("# Set KC_URL's realm endpoints, CLIENT_SECRET and REFRESH_TOKEN for your server first.\n\n")
	for _, r := range reqs {
		b.WriteString(r)
		b.WriteString("\n\n")
	}
	return b.String()
}

func readme(b Bundle) string {
	m := b.Manifest
	var w strings.Builder
	fmt.Fprintf(&w, "# kcconform reproduction: Keycloak %s (%s target)\n\n", m.Version, m.Target)
	fmt.Fprintf(&w, "Spec (%s suite): %s\n\n", m.Suite, m.Spec)
	w.WriteString("| promise | expected | the server sent |\n|---|---|---|\n")
	for _, f := range m.Failures {
		fmt.Fprintf(&w, "| %s | %s | %s |\n", cell(f.Promise), cell(f.Expected), cell(f.Sent))
	}
	w.WriteString("\n")
	if m.Scenario != nil && m.Replayed != nil {
		fmt.Fprintf(&w, "`bash reproduce.sh` starts Keycloak %s (the official server distribution, `kc.sh start-dev`) with `realm.json` "+
			"(realm `%s`, client `%s`, its secret set anew), sends %s and checks *%s* again. "+
			"Exit status: 1 the failure reproduced, 0 the server kept the promise, 2 it could not run.\n\n",
			m.Version, m.Realm, m.ClientID, stepList(m.Scenario.Steps), m.Replayed.Promise)
		w.WriteString("It needs bash, curl, jq, tar, a JDK the release runs on (`JAVA_HOME` or `java` on the PATH) and Maven, " +
			"or `KC_DIST=/path/to/keycloak-" + m.Version + ".tar.gz`. `KC_HTTP_PORT` (default 18080) and `KC_BOOT_TIMEOUT` (seconds, default 300) can be set. " +
			"`kcconform --replay <this folder>` runs it with kcconform's verified archive.\n\n")
	} else {
		w.WriteString("None of these promises has a scripted replay (it needs more than a server, a realm and a few requests: " +
			"a restart, a cluster or load); `reproduce.sh` says so and exits 2. `requests.txt` holds the requests the run sent.\n\n")
	}
	w.WriteString("Files: `manifest.json` (what failed and how it is replayed), `realm.json` (a partial export through the admin API: " +
		"Keycloak masks secrets as `**********`), `requests.txt` (the run's requests and the answers, redacted), `server-log-tail.txt`.\n")
	return w.String()
}

func stepList(steps []Step) string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = "`" + string(s) + "`"
	}
	return strings.Join(names, ", then ")
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// Read reads a bundle's manifest.
func Read(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return m, fmt.Errorf("%s is not a reproduction bundle: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	if m.Version == "" {
		return m, fmt.Errorf("%s/manifest.json: expected a Keycloak version in \"version\"", dir)
	}
	return m, nil
}
