package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/redact"
	"kcconform/pkg/tokenflow"
)

// inFlightCreate is how long a realm create the harness gave up on may take
// to land on the server.
const inFlightCreate = 15 * time.Second

// FixtureClientID is the client the procedure names, in the fixture realm.
const FixtureClientID = "my-test-client"

// Realm is a realm a spec works in and its procedure client.
type Realm struct {
	Name string
	// Client is the procedure's client (my-test-client).
	Client *TestClient
	// Owned is true when the harness created the realm (and deletes it).
	Owned bool
}

// TestClient is a confidential client with a service account.
type TestClient struct {
	ClientID         string
	UUID             string // empty without admin rights
	ServiceAccountID string // empty without admin rights
	Flow             *tokenflow.Client
}

// FixturePath returns the realm fixture: KC_FIXTURE, else
// fixtures/realms/offline.json at the module root.
func FixturePath() string {
	if p := os.Getenv("KC_FIXTURE"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "realms", "offline.json")
}

// RealmName is this process's realm name: recognisable, unique per run and
// per parallel process.
func RealmName(suite string) string {
	return fmt.Sprintf("%s%s-%s-p%d", ResourcePrefix, suite, RunID, ginkgo.GinkgoParallelProcess())
}

// ProvisionRealm creates this process's realm from the fixture and registers
// its deletion with DeferCleanup. Without admin rights it uses the client set
// up by hand (KC_REALM, KC_CLIENT_ID, KC_CLIENT_SECRET) instead.
func (f *Framework) ProvisionRealm(ctx context.Context, suite string) *Realm {
	ginkgo.GinkgoHelper()
	if f.Admin == nil {
		c := f.Server.Client
		gomega.Expect(c).NotTo(gomega.BeNil(), "no admin credentials and no existing client")
		return &Realm{Name: c.Realm, Client: &TestClient{ClientID: c.ClientID, Flow: f.flowClient(c.Realm, c.ClientID, c.Secret)}}
	}
	name := RealmName(suite)
	rep, err := RealmFixture(FixturePath(), name)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ginkgo.By("creating realm " + name + " from " + filepath.Base(FixturePath()))
	created := false
	// Registered before the call: a create that times out or is interrupted
	// may still land on the server after our first DELETE answered 404, so
	// then the clean-up watches for it a while and deletes it again.
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
		gomega.Expect(f.Admin.DeleteRealm(ctx, name)).To(gomega.Succeed(), "delete realm %s", name)
		if created {
			return
		}
		deadline := time.Now().Add(inFlightCreate)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			exists, err := f.Admin.RealmExists(ctx, name)
			gomega.Expect(err).NotTo(gomega.HaveOccurred())
			if exists {
				gomega.Expect(f.Admin.DeleteRealm(ctx, name)).To(gomega.Succeed(), "delete realm %s (its create landed late)", name)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}, ginkgo.NodeTimeout(time.Minute))
	ExpectNoError(f.Admin.CreateRealm(ctx, rep), "create realm "+name)
	created = true
	r := &Realm{Name: name, Owned: true}
	r.Client = f.LookupClient(ctx, name, FixtureClientID)
	return r
}

// LookupClient reads a client's secret and service account through the
// admin API and returns it ready for the flows.
func (f *Framework) LookupClient(ctx context.Context, realm, clientID string) *TestClient {
	ginkgo.GinkgoHelper()
	cl, err := f.Admin.Client(ctx, realm, clientID)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	secret, err := f.Admin.ClientSecret(ctx, realm, cl.ID)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	sa, err := f.Admin.ServiceAccountUser(ctx, realm, cl.ID)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return &TestClient{ClientID: clientID, UUID: cl.ID, ServiceAccountID: sa.ID, Flow: f.flowClient(realm, clientID, secret)}
}

// CreateClient adds a confidential service-account client like the
// fixture's to realm, removed again with DeferCleanup.
func (f *Framework) CreateClient(ctx context.Context, realm, clientID string) *TestClient {
	ginkgo.GinkgoHelper()
	rep := map[string]any{
		"clientId": clientID, "enabled": true, "publicClient": false, "serviceAccountsEnabled": true,
		"standardFlowEnabled": false, "clientAuthenticatorType": "client-secret",
		"optionalClientScopes": []string{"offline_access"},
		"attributes": map[string]string{
			"client_credentials.use_refresh_token": "true",
			"access.token.lifespan":                "31536000",
		},
	}
	cl, err := f.Admin.CreateClient(ctx, realm, rep)
	if cl != nil {
		ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
			gomega.Expect(f.Admin.DeleteClient(ctx, realm, cl.ID)).To(gomega.Succeed())
		}, ginkgo.NodeTimeout(time.Minute))
	}
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), "create client %s", clientID)
	return f.LookupClient(ctx, realm, clientID)
}

func (f *Framework) flowClient(realm, clientID, secret string) *tokenflow.Client {
	hc, err := f.Server.HTTPClient()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	c := tokenflow.NewClient(tokenflow.RealmEndpoints(f.Server.BaseURL, realm), clientID, secret, hc)
	c.CAFile = f.Server.CAFile
	return c
}

// RealmFixture reads a realm representation and renames the realm, fixing
// the references that carry its name (the default roles).
func RealmFixture(path, name string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("KC_FIXTURE: read realm fixture: %w", err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("KC_FIXTURE: %s: expected a realm representation in JSON: %w", path, err)
	}
	old, _ := rep["realm"].(string)
	if old == "" {
		return nil, fmt.Errorf("KC_FIXTURE: %s: field \"realm\": expected the realm's name", path)
	}
	rep["realm"] = name
	delete(rep, "id")
	out, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	return []byte(strings.ReplaceAll(string(out), "default-roles-"+old, "default-roles-"+name)), nil
}

// GetOffline runs the procedure's get request for c and registers the
// revocation of the offline session it opens. It fails the spec, with the
// replay command, when the server does not answer with a token.
func (f *Framework) GetOffline(ctx context.Context, c *TestClient) *tokenflow.Response {
	ginkgo.GinkgoHelper()
	resp, err := c.Flow.ClientCredentials(ctx, "offline_access")
	ExpectToken(err)
	if resp.RefreshToken != "" {
		ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) { ExpectRevoked(ctx, c, resp.RefreshToken) }, ginkgo.NodeTimeout(time.Minute))
	}
	return resp
}

// ExpectToken fails the spec when a flow did not give a token response,
// attaching the replay command and the redacted answer.
func ExpectToken(err error) {
	ginkgo.GinkgoHelper()
	if e, ok := tokenflow.AsError(err); ok {
		ginkgo.AddReportEntry("replay", ReplayEntry(e.Replay, e.Body), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	ExpectNoError(err, "expected HTTP 200 with a token response")
}

// ExpectRevoked revokes an offline token the harness took. A token an
// administrator already revoked (or whose client is gone) cannot be revoked
// again; that is fine as long as it no longer refreshes.
func ExpectRevoked(ctx context.Context, c *TestClient, refreshToken string) {
	ginkgo.GinkgoHelper()
	err := c.Flow.Revoke(ctx, refreshToken)
	if err == nil {
		return
	}
	if _, rerr := c.Flow.Refresh(ctx, refreshToken); rerr == nil {
		ginkgo.Fail(redact.String("the offline token taken could not be revoked and still refreshes: " + err.Error()))
	}
}

// WaitPastIssue waits until the clock has passed the second a token was
// issued in. Keycloak's not-before revokes tokens issued strictly before it
// (iat < notBefore), so a not-before set in the token's own second does not
// revoke it.
func WaitPastIssue(ctx context.Context, resp *tokenflow.Response) {
	ginkgo.GinkgoHelper()
	iat, ok := resp.AccessClaims.Int("iat")
	gomega.Expect(ok).To(gomega.BeTrue(), "access token without iat")
	gomega.Eventually(ctx, func() int64 { return time.Now().Unix() }).
		WithPolling(50 * time.Millisecond).WithTimeout(5 * time.Second).Should(gomega.BeNumerically(">", iat))
}
