package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/onsi/ginkgo/v2"

	"kcconform/fixtures"
	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/realmconf"
	"kcconform/pkg/report"
	"kcconform/pkg/tokenflow"
)

// inFlightCreate is how long a realm create the harness gave up on may take
// to land on the server.
const inFlightCreate = 15 * time.Second

// Realm is a realm a spec works in and its procedure client.
type Realm struct {
	Name string
	// Client is the procedure's client (my-test-client, or the existing one).
	Client *Client
	// Owned is true when the run created the realm (and deletes it).
	Owned bool
}

// Client is a confidential service-account client of a realm, ready for the
// procedure's requests.
type Client struct {
	ClientID         string
	UUID             string // empty without admin rights
	ServiceAccountID string // empty without admin rights
	Flow             *tokenflow.Client
}

// Fixture returns the realm fixture: the file KC_FIXTURE names, else
// fixtures/realms/offline.json (built into the command).
func (s *Session) Fixture() ([]byte, error) {
	p := s.Run.Settings.Fixture
	if p == "" {
		return fixtures.Offline, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("KC_FIXTURE: read realm fixture: %w", err)
	}
	return b, nil
}

// RealmName is this process's realm name: recognisable, unique per run and
// per parallel process.
func (s *Session) RealmName(suite string) string {
	return fmt.Sprintf("%s%s-%s-p%d", ResourcePrefix, suite, s.Run.ID(), ginkgo.GinkgoParallelProcess())
}

// ProvisionRealm sets up this process's realm: in the provisioned mode, a
// realm of its own from the fixture (deleted again at the end); in the audit
// and client-only modes, the existing client (KC_REALM, KC_CLIENT_ID), whose
// realm is not changed. With admin rights it reads the realm's settings.
func (s *Session) ProvisionRealm(ctx context.Context, suite string) *Realm {
	ginkgo.GinkgoHelper()
	var r *Realm
	if c := s.Server.Client; c != nil {
		r = &Realm{Name: c.Realm}
		if s.Admin == nil {
			r.Client = &Client{ClientID: c.ClientID, Flow: s.flowClient(c.Realm, c.ClientID, c.Secret)}
		} else {
			r.Client = s.LookupClient(ctx, c.Realm, c.ClientID, c.Secret)
		}
	} else {
		name := s.RealmName(suite)
		rep, err := s.RealmFixture(name, nil)
		s.ExpectNoError(err, "realm fixture")
		r = s.CreateRealm(ctx, name, rep)
	}
	if s.Admin != nil {
		st, err := realmconf.Read(ctx, s.Admin, r.Name, r.Client.ClientID)
		s.ExpectNoError(err, "read the settings of realm "+r.Name)
		if c := s.Server.Client; c != nil && c.Secret != "" && r.Client.UUID != "" {
			// The secret given against the one the client has: a typo is
			// the run's to mend, not the server's.
			actual, err := s.Admin.ClientSecret(ctx, r.Name, r.Client.UUID)
			st.SecretDiffers = err == nil && actual != c.Secret
		}
		s.Settings = st
		s.RecordSettings()
	}
	s.probeGet(ctx, r.Client)
	return r
}

// probeGet makes the procedure's get once, before any spec. A refusal that
// is the run's to mend (the client's credentials: nothing read explains it,
// or KC_CLIENT_SECRET is not the client's) stops the run as COULD NOT RUN,
// naming the settings to check first; any other refusal is the server's to
// answer for, and the specs' verdict names it as the root cause.
func (s *Session) probeGet(ctx context.Context, c *Client) {
	ginkgo.GinkgoHelper()
	resp, err := c.Flow.ClientCredentials(ctx, "offline_access")
	if err == nil {
		if resp.RefreshToken != "" {
			s.RevokeAtEnd(c, resp)
		}
		return
	}
	if cause, ok := contract.RefusalCause(err, s.Subject(c)); ok && cause.Credentials {
		ginkgo.Fail(s.Run.Redactor.String(fmt.Sprintf("the procedure's get for client %s was refused (%s): %s", c.ClientID, contract.SentOf(err), cause.Text)))
	}
}

// CreateRealm creates a realm from a representation and registers its
// deletion (also of a create that lands late). It returns the realm with its
// procedure client.
func (s *Session) CreateRealm(ctx context.Context, name string, rep []byte) *Realm {
	ginkgo.GinkgoHelper()
	ginkgo.By("creating realm " + name)
	created := false
	// Registered before the call: a create that times out or is interrupted
	// may still land on the server after our first DELETE answered 404, so
	// then the clean-up watches for it a while and deletes it again.
	Cleanup(func(ctx ginkgo.SpecContext) {
		err := s.Admin.DeleteRealm(ctx, name)
		for deadline := time.Now().Add(inFlightCreate); err == nil && !created && time.Now().Before(deadline) && ctx.Err() == nil; {
			var exists bool
			if exists, err = s.Admin.RealmExists(ctx, name); err == nil && exists {
				err = s.Admin.DeleteRealm(ctx, name)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			s.RecordLeftover(report.Leftover{What: "realm " + name + " (with its clients and offline sessions)", Why: err.Error(),
				Remove: fmt.Sprintf("make clean-server (KC_URL and admin credentials set), or DELETE %s/admin/realms/%s", s.Server.BaseURL, name)})
		}
	})
	s.ExpectNoError(s.Admin.CreateRealm(ctx, rep), "create realm "+name)
	created = true
	var parsed map[string]any
	s.ExpectNoError(json.Unmarshal(rep, &parsed), "realm representation")
	return &Realm{Name: name, Owned: true, Client: s.LookupClient(ctx, name, fixtures.ProcedureClientID(parsed), "")}
}

// LookupClient reads a client's ids and service account through the admin
// API, and its secret unless given, and returns it ready for the flows.
func (s *Session) LookupClient(ctx context.Context, realm, clientID, secret string) *Client {
	ginkgo.GinkgoHelper()
	cl, err := s.Admin.FindClient(ctx, realm, clientID)
	s.ExpectNoError(err, "look up client "+clientID)
	if secret == "" {
		// A client without a secret (a public one) is refused by the
		// probe of the get, whose cause the settings read then name.
		secret, _ = s.Admin.ClientSecret(ctx, realm, cl.ID)
	}
	c := &Client{ClientID: clientID, UUID: cl.ID, Flow: s.flowClient(realm, clientID, secret)}
	if cl.ServiceAccountsEnabled {
		sa, err := s.Admin.ServiceAccountUser(ctx, realm, cl.ID)
		s.ExpectNoError(err, "look up the service account of "+clientID)
		c.ServiceAccountID = sa.ID
	}
	return c
}

// CreateClient adds a confidential service-account client like the
// fixture's to the session's own realm, removed again at the end.
func (s *Session) CreateClient(ctx context.Context, clientID string) *Client {
	ginkgo.GinkgoHelper()
	realm := s.Realm.Name
	rep := map[string]any{
		"clientId": clientID, "enabled": true, "publicClient": false, "serviceAccountsEnabled": true,
		"standardFlowEnabled": false, "clientAuthenticatorType": "client-secret",
		"optionalClientScopes": []string{"offline_access"},
		"attributes": map[string]string{
			"client_credentials.use_refresh_token": "true",
			"access.token.lifespan":                "31536000",
		},
	}
	cl, err := s.Admin.CreateClient(ctx, realm, rep)
	if cl != nil {
		Cleanup(func(ctx ginkgo.SpecContext) {
			if err := s.Admin.DeleteClient(ctx, realm, cl.ID); err != nil {
				s.RecordLeftover(report.Leftover{What: "client " + clientID + " of realm " + realm, Why: err.Error(),
					Remove: fmt.Sprintf("Clients → %s → Delete in realm %s, or make clean-server", clientID, realm)})
			}
		})
	}
	s.ExpectNoError(err, "create client "+clientID)
	return s.LookupClient(ctx, realm, clientID, "")
}

func (s *Session) flowClient(realm, clientID, secret string) *tokenflow.Client {
	ginkgo.GinkgoHelper()
	hc, err := s.Server.HTTPClient()
	s.ExpectNoError(err, "HTTP client")
	c := tokenflow.NewClient(tokenflow.RealmEndpoints(s.Server.BaseURL, realm), clientID, secret, hc, s.Run.Redactor)
	c.CAFile = s.Server.CAFile
	return c
}

// RealmFixture reads the realm fixture, renames the realm (fixing the
// references that carry its name, the default roles), gives every client a
// fresh random secret (a committed one would be known to anyone), and
// applies change, when given, to the representation.
func (s *Session) RealmFixture(name string, change func(realm map[string]any)) ([]byte, error) {
	b, err := s.Fixture()
	if err != nil {
		return nil, err
	}
	return fixtures.Rename(b, name, s.Run.Redactor, change)
}

// GetOffline runs the procedure's get request for c and registers the
// revocation of the offline session it opens. It fails the spec, recording
// the broken promise and the replay command, when the server does not
// answer with a token.
func (s *Session) GetOffline(ctx context.Context, c *Client) *tokenflow.Response {
	ginkgo.GinkgoHelper()
	resp, err := c.Flow.ClientCredentials(ctx, "offline_access")
	if err == nil && resp.RefreshToken != "" {
		s.RevokeAtEnd(c, resp)
	}
	s.ExpectToken(contract.Get, "get", s.Subject(c), err)
	return resp
}

// RevokeAtEnd registers the revocation of an offline token the run took.
func (s *Session) RevokeAtEnd(c *Client, resp *tokenflow.Response) {
	Cleanup(func(ctx ginkgo.SpecContext) { s.Revoke(ctx, c, resp) })
}

// Revoke gives an offline token the run took back, at the realm's RFC 7009
// endpoint (no admin rights needed). A token an administrator already
// revoked, or whose client is gone, cannot be revoked again: that is fine
// when it no longer refreshes. Anything else is a leftover: the verdict
// says what was left and how to remove it.
func (s *Session) Revoke(ctx context.Context, c *Client, resp *tokenflow.Response) {
	ginkgo.GinkgoHelper()
	revokeErr := c.Flow.Revoke(ctx, resp.RefreshToken)
	if revokeErr == nil {
		return
	}
	still, err := c.Flow.Refresh(ctx, resp.RefreshToken)
	if e, ok := tokenflow.AsError(err); ok && e.Code == "invalid_grant" {
		return // gone already
	}
	if err == nil {
		// It still works: revoke what the refresh gave.
		if c.Flow.Revoke(ctx, still.RefreshToken) == nil {
			return
		}
	}
	if s.Admin != nil {
		// A client that is gone took its sessions with it (the client was
		// deleted, and its credentials are refused); else an administrator
		// can end the session.
		if _, ferr := s.Admin.FindClient(ctx, c.Flow.Endpoints.Realm(), c.ClientID); admin.IsNotFound(ferr) || c.UUID != "" && !clientExists(ctx, s, c) {
			return
		}
		if resp.SessionState != "" {
			if err := s.Admin.DeleteSession(ctx, c.Flow.Endpoints.Realm(), resp.SessionState, true); err == nil || admin.IsNotFound(err) {
				return
			}
		}
	}
	realm := c.Flow.Endpoints.Realm()
	why := "revoke: " + revokeErr.Error()
	if err != nil {
		why += "; a refresh to find out whether it is gone: " + err.Error()
	}
	s.RecordLeftover(report.Leftover{
		What: fmt.Sprintf("an offline session (session_state %s) of client %s in realm %s: its refresh token is a standing credential", resp.SessionState, c.ClientID, realm),
		Why:  why,
		Remove: fmt.Sprintf("admin console: realm %s → Sessions → the offline session %s → Sign out; or DELETE %s/admin/realms/%s/sessions/%s?isOffline=true",
			realm, resp.SessionState, s.Server.BaseURL, realm, resp.SessionState),
	})
}

// clientExists reports whether the client with c's internal id still
// exists (a client deleted and created again has a new one).
func clientExists(ctx context.Context, s *Session, c *Client) bool {
	_, err := s.Admin.ClientRepresentation(ctx, c.Flow.Endpoints.Realm(), c.UUID)
	return !admin.IsNotFound(err)
}

// WaitPastIssue waits until the clock has passed the second a token was
// issued in. Keycloak's not-before revokes tokens issued strictly before it
// (iat < notBefore), so a not-before set in the token's own second does not
// revoke it.
func WaitPastIssue(ctx context.Context, resp *tokenflow.Response) {
	ginkgo.GinkgoHelper()
	iat, ok := resp.AccessClaims.Int("iat")
	if !ok {
		ginkgo.Fail("access token without iat")
	}
	// The refresh token is made after the access token, a second later on a
	// busy server: a not-before between the two revokes only one of them.
	if r, ok := resp.RefreshClaims.Int("iat"); ok && r > iat {
		iat = r
	}
	for time.Now().Unix() <= iat {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// OnNode is a flow client of c that sends its requests straight to one node
// of a cluster (its base URL), to choose the node that serves them.
func (s *Session) OnNode(c *Client, node string) *tokenflow.Client {
	ginkgo.GinkgoHelper()
	hc, err := s.Server.HTTPClient()
	s.ExpectNoError(err, "HTTP client")
	return tokenflow.NewClient(tokenflow.RealmEndpoints(node, c.Flow.Endpoints.Realm()), c.ClientID, c.Flow.ClientSecret, hc, s.Run.Redactor)
}

// AdminOn is an admin client that sends its requests straight to one node
// of a cluster.
func (s *Session) AdminOn(node string) *admin.Client {
	ginkgo.GinkgoHelper()
	info := s.Server
	info.BaseURL = node
	return s.adminClient(info)
}
