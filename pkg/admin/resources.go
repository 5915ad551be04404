package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// ClientRep is the part of a client representation the harness reads.
type ClientRep struct {
	ID                     string            `json:"id"`
	ClientID               string            `json:"clientId"`
	Enabled                bool              `json:"enabled"`
	ServiceAccountsEnabled bool              `json:"serviceAccountsEnabled"`
	Attributes             map[string]string `json:"attributes,omitempty"`
}

// User is the part of a user representation the harness reads.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// Role is a realm role.
type Role struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Session is a user session as listed by the Admin API.
type Session struct {
	ID string `json:"id"`
}

// ServerVersion returns the server's version from /admin/serverinfo.
func (c *Client) ServerVersion(ctx context.Context) (string, error) {
	var info struct {
		SystemInfo struct {
			Version string `json:"version"`
		} `json:"systemInfo"`
	}
	if err := c.Do(ctx, "GET", "/serverinfo", nil, &info); err != nil {
		return "", err
	}
	return info.SystemInfo.Version, nil
}

// CreateRealm creates a realm, with its clients, roles and users, from a
// realm representation (JSON).
func (c *Client) CreateRealm(ctx context.Context, rep []byte) error {
	return c.Do(ctx, "POST", "/realms", rep, nil)
}

// DeleteRealm deletes a realm; a realm that is already gone is not an error.
func (c *Client) DeleteRealm(ctx context.Context, realm string) error {
	err := c.Do(ctx, "DELETE", realmPath(realm), nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// RealmExists reports whether a realm exists.
func (c *Client) RealmExists(ctx context.Context, realm string) (bool, error) {
	err := c.Do(ctx, "GET", realmPath(realm), nil, &map[string]any{})
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Realms lists the names of all realms.
func (c *Client) Realms(ctx context.Context) ([]string, error) {
	var reps []struct {
		Realm string `json:"realm"`
	}
	if err := c.Do(ctx, "GET", "/realms?briefRepresentation=true", nil, &reps); err != nil {
		return nil, err
	}
	out := make([]string, len(reps))
	for i, r := range reps {
		out[i] = r.Realm
	}
	return out, nil
}

// FindClient looks a client up by its clientId.
func (c *Client) FindClient(ctx context.Context, realm, clientID string) (*ClientRep, error) {
	var reps []ClientRep
	if err := c.Do(ctx, "GET", realmPath(realm, "clients")+"?clientId="+url.QueryEscape(clientID), nil, &reps); err != nil {
		return nil, err
	}
	for i := range reps {
		if reps[i].ClientID == clientID {
			return &reps[i], nil
		}
	}
	return nil, &Error{Method: "GET", Path: realmPath(realm, "clients") + "?clientId=" + clientID, Status: 404,
		Body: fmt.Sprintf("no client with clientId %q in realm %q", clientID, realm)}
}

// CreateClient creates a client from a representation and returns it.
func (c *Client) CreateClient(ctx context.Context, realm string, rep map[string]any) (*ClientRep, error) {
	if err := c.Do(ctx, "POST", realmPath(realm, "clients"), rep, nil); err != nil {
		return nil, err
	}
	id, _ := rep["clientId"].(string)
	return c.FindClient(ctx, realm, id)
}

// DeleteClient deletes a client by its internal id.
func (c *Client) DeleteClient(ctx context.Context, realm, clientUUID string) error {
	err := c.Do(ctx, "DELETE", realmPath(realm, "clients", clientUUID), nil, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// ClientSecret reads a confidential client's secret. The secret is
// registered with the redactor before it is returned.
func (c *Client) ClientSecret(ctx context.Context, realm, clientUUID string) (string, error) {
	var cred struct {
		Value string `json:"value"`
	}
	if err := c.Do(ctx, "GET", realmPath(realm, "clients", clientUUID, "client-secret"), nil, &cred); err != nil {
		return "", err
	}
	if cred.Value == "" {
		return "", fmt.Errorf("keycloak admin: client %s of realm %q has no secret: expected a confidential client", clientUUID, realm)
	}
	c.red.AddSecret(cred.Value)
	return cred.Value, nil
}

// ServiceAccountUser returns the service-account user of a client.
func (c *Client) ServiceAccountUser(ctx context.Context, realm, clientUUID string) (*User, error) {
	var u User
	if err := c.Do(ctx, "GET", realmPath(realm, "clients", clientUUID, "service-account-user"), nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// RealmRole looks up a realm role by name.
func (c *Client) RealmRole(ctx context.Context, realm, name string) (*Role, error) {
	var r Role
	if err := c.Do(ctx, "GET", realmPath(realm, "roles", name), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RevokeRealmRole takes a realm role from a user.
func (c *Client) RevokeRealmRole(ctx context.Context, realm, userID, role string) error {
	r, err := c.RealmRole(ctx, realm, role)
	if err != nil {
		return err
	}
	return c.Do(ctx, "DELETE", realmPath(realm, "users", userID, "role-mappings", "realm"), []Role{*r}, nil)
}

// EffectiveRealmRoles lists a user's realm roles, those held through
// composite roles (the realm's default roles) included.
func (c *Client) EffectiveRealmRoles(ctx context.Context, realm, userID string) ([]Role, error) {
	var rs []Role
	err := c.Do(ctx, "GET", realmPath(realm, "users", userID, "role-mappings", "realm", "composite"), nil, &rs)
	return rs, err
}

// Realm reads a realm's representation.
func (c *Client) Realm(ctx context.Context, realm string) (map[string]any, error) {
	var rep map[string]any
	err := c.Do(ctx, "GET", realmPath(realm), nil, &rep)
	return rep, err
}

// ClientRepresentation reads a client's full representation (attributes and
// protocol mappers included).
func (c *Client) ClientRepresentation(ctx context.Context, realm, clientUUID string) (map[string]any, error) {
	var rep map[string]any
	err := c.Do(ctx, "GET", realmPath(realm, "clients", clientUUID), nil, &rep)
	return rep, err
}

// ClientScopes lists the names of a client's default and optional client
// scopes.
func (c *Client) ClientScopes(ctx context.Context, realm, clientUUID string) (defaults, optional []string, err error) {
	for _, kind := range []struct {
		path string
		dst  *[]string
	}{{"default-client-scopes", &defaults}, {"optional-client-scopes", &optional}} {
		var scopes []struct {
			Name string `json:"name"`
		}
		if err := c.Do(ctx, "GET", realmPath(realm, "clients", clientUUID, kind.path), nil, &scopes); err != nil {
			return nil, nil, err
		}
		for _, s := range scopes {
			*kind.dst = append(*kind.dst, s.Name)
		}
	}
	return defaults, optional, nil
}

// clientScope is a realm client scope as the admin API lists it.
type clientScope struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
}

// realmClientScope finds a realm client scope by name (nil when the realm
// has none of that name).
func (c *Client) realmClientScope(ctx context.Context, realm, name string) (*clientScope, error) {
	var scopes []clientScope
	if err := c.Do(ctx, "GET", realmPath(realm, "client-scopes"), nil, &scopes); err != nil {
		return nil, err
	}
	for i := range scopes {
		if scopes[i].Name == name {
			if scopes[i].Attributes == nil {
				scopes[i].Attributes = map[string]string{}
			}
			return &scopes[i], nil
		}
	}
	return nil, nil
}

// ClientScopeAttributes returns the attributes of the realm's client scope
// name (nil, nil when the realm has no such scope).
func (c *Client) ClientScopeAttributes(ctx context.Context, realm, name string) (map[string]string, error) {
	cs, err := c.realmClientScope(ctx, realm, name)
	if err != nil || cs == nil {
		return nil, err
	}
	return cs.Attributes, nil
}

// UserRealmRoles lists the realm roles mapped directly to a user.
func (c *Client) UserRealmRoles(ctx context.Context, realm, userID string) ([]Role, error) {
	var rs []Role
	err := c.Do(ctx, "GET", realmPath(realm, "users", userID, "role-mappings", "realm"), nil, &rs)
	return rs, err
}

// DeleteConsent revokes a user's consent and offline tokens for a client
// (clientID is the client's clientId, not its internal id).
func (c *Client) DeleteConsent(ctx context.Context, realm, userID, clientID string) error {
	return c.Do(ctx, "DELETE", realmPath(realm, "users", userID, "consents", clientID), nil, nil)
}

// OfflineSessions lists a user's offline sessions for a client.
func (c *Client) OfflineSessions(ctx context.Context, realm, userID, clientUUID string) ([]Session, error) {
	var ss []Session
	err := c.Do(ctx, "GET", realmPath(realm, "users", userID, "offline-sessions", clientUUID), nil, &ss)
	return ss, err
}

// OfflineSessionCount is the number of offline sessions in a realm, over
// all its clients, from the realm's client-session-stats (which Keycloak
// writes as strings; numbers are taken too).
func (c *Client) OfflineSessionCount(ctx context.Context, realm string) (int, error) {
	var stats []map[string]any
	path := realmPath(realm, "client-session-stats")
	if err := c.Do(ctx, "GET", path, nil, &stats); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range stats {
		switch v := s["offline"].(type) {
		case nil:
		case float64:
			n += int(v)
		case string:
			i, err := strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("GET %s: field offline: expected a count, got %q", path, v)
			}
			n += i
		default:
			return 0, fmt.Errorf("GET %s: field offline: expected a count, got %T", path, v)
		}
	}
	return n, nil
}

// UpdateClient reads a client's full representation, lets change edit it,
// and writes it back.
func (c *Client) UpdateClient(ctx context.Context, realm, clientUUID string, change func(rep map[string]any)) error {
	var rep map[string]any
	if err := c.Do(ctx, "GET", realmPath(realm, "clients", clientUUID), nil, &rep); err != nil {
		return err
	}
	change(rep)
	return c.Do(ctx, "PUT", realmPath(realm, "clients", clientUUID), rep, nil)
}

// UpdateRealm reads a realm's representation, lets change edit it, and
// writes it back.
func (c *Client) UpdateRealm(ctx context.Context, realm string, change func(rep map[string]any)) error {
	var rep map[string]any
	if err := c.Do(ctx, "GET", realmPath(realm), nil, &rep); err != nil {
		return err
	}
	change(rep)
	return c.Do(ctx, "PUT", realmPath(realm), rep, nil)
}

// PushRevocation pushes the realm's not-before to clients with an admin URL.
func (c *Client) PushRevocation(ctx context.Context, realm string) error {
	return c.Do(ctx, "POST", realmPath(realm, "push-revocation"), nil, nil)
}

// PushClientRevocation pushes a client's not-before to its admin URL.
func (c *Client) PushClientRevocation(ctx context.Context, realm, clientUUID string) error {
	return c.Do(ctx, "POST", realmPath(realm, "clients", clientUUID, "push-revocation"), nil, nil)
}

// LogoutUser removes a user's sessions and sets the user's not-before.
func (c *Client) LogoutUser(ctx context.Context, realm, userID string) error {
	return c.Do(ctx, "POST", realmPath(realm, "users", userID, "logout"), nil, nil)
}

// DeleteSession deletes one session; offline selects an offline session.
func (c *Client) DeleteSession(ctx context.Context, realm, sessionID string, offline bool) error {
	return c.Do(ctx, "DELETE", realmPath(realm, "sessions", sessionID)+fmt.Sprintf("?isOffline=%t", offline), nil, nil)
}

// Client scope kinds of a client's assignment.
const (
	DefaultScope  = "default-client-scopes"
	OptionalScope = "optional-client-scopes"
)

// RemoveOptionalClientScope takes an optional client scope (by name) from a
// client.
func (c *Client) RemoveOptionalClientScope(ctx context.Context, realm, clientUUID, scope string) error {
	return c.RemoveClientScope(ctx, realm, clientUUID, OptionalScope, scope)
}

// RemoveClientScope takes a client scope (by name) of kind (DefaultScope or
// OptionalScope) from a client.
func (c *Client) RemoveClientScope(ctx context.Context, realm, clientUUID, kind, scope string) error {
	var scopes []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := c.Do(ctx, "GET", realmPath(realm, "clients", clientUUID, kind), nil, &scopes); err != nil {
		return err
	}
	for _, s := range scopes {
		if s.Name == scope {
			return c.Do(ctx, "DELETE", realmPath(realm, "clients", clientUUID, kind, s.ID), nil, nil)
		}
	}
	return &Error{Method: "GET", Path: realmPath(realm, "clients", clientUUID, kind), Status: 404,
		Body: fmt.Sprintf("client has no %s %q", kind, scope)}
}

// AddOptionalClientScope assigns a realm client scope, by name, to a client
// as optional.
func (c *Client) AddOptionalClientScope(ctx context.Context, realm, clientUUID, scope string) error {
	return c.AddClientScope(ctx, realm, clientUUID, OptionalScope, scope)
}

// AddClientScope assigns a realm client scope, by name, to a client as kind
// (DefaultScope or OptionalScope).
func (c *Client) AddClientScope(ctx context.Context, realm, clientUUID, kind, scope string) error {
	id, err := c.clientScopeID(ctx, realm, scope)
	if err != nil {
		return err
	}
	return c.Do(ctx, "PUT", realmPath(realm, "clients", clientUUID, kind, id), nil, nil)
}

// SetClientScopeAttribute sets one attribute of a realm client scope (by
// name), such as include.in.token.scope.
func (c *Client) SetClientScopeAttribute(ctx context.Context, realm, scope, key, value string) error {
	id, err := c.clientScopeID(ctx, realm, scope)
	if err != nil {
		return err
	}
	var rep map[string]any
	if err := c.Do(ctx, "GET", realmPath(realm, "client-scopes", id), nil, &rep); err != nil {
		return err
	}
	attrs, _ := rep["attributes"].(map[string]any)
	if attrs == nil {
		attrs = map[string]any{}
	}
	attrs[key] = value
	rep["attributes"] = attrs
	return c.Do(ctx, "PUT", realmPath(realm, "client-scopes", id), rep, nil)
}

func (c *Client) clientScopeID(ctx context.Context, realm, scope string) (string, error) {
	cs, err := c.realmClientScope(ctx, realm, scope)
	if err != nil {
		return "", err
	}
	if cs == nil {
		return "", &Error{Method: "GET", Path: realmPath(realm, "client-scopes"), Status: 404, Body: fmt.Sprintf("realm has no client scope %q", scope)}
	}
	return cs.ID, nil
}

// PartialExport is the realm as the admin console's partial export gives it
// (clients, groups and roles; secrets masked).
func (c *Client) PartialExport(ctx context.Context, realm string) (json.RawMessage, error) {
	var rep json.RawMessage
	err := c.Do(ctx, "POST", realmPath(realm, "partial-export")+"?exportClients=true&exportGroupsAndRoles=true", nil, &rep)
	return rep, err
}

// Group is a group a user belongs to.
type Group struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// UserGroups lists the groups a user belongs to.
func (c *Client) UserGroups(ctx context.Context, realm, userID string) ([]Group, error) {
	var gs []Group
	err := c.Do(ctx, "GET", realmPath(realm, "users", userID, "groups"), nil, &gs)
	return gs, err
}

// GroupRealmRoles lists a group's realm roles, those of composite roles
// and of its parent groups included.
func (c *Client) GroupRealmRoles(ctx context.Context, realm, groupID string) ([]Role, error) {
	var rs []Role
	err := c.Do(ctx, "GET", realmPath(realm, "groups", groupID, "role-mappings", "realm", "composite"), nil, &rs)
	return rs, err
}

// LeaveGroup removes a user from a group.
func (c *Client) LeaveGroup(ctx context.Context, realm, userID, groupID string) error {
	return c.Do(ctx, "DELETE", realmPath(realm, "users", userID, "groups", groupID), nil, nil)
}
