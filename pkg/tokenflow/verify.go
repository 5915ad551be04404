package tokenflow

import (
	"context"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// signingAlgs are the asymmetric algorithms a Keycloak realm signs access
// tokens with. go-jose v4 requires the list; HMAC is excluded on purpose, an
// access token signed with a shared key cannot be checked against a JWKS.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

type keySet struct{ jose.JSONWebKeySet }

// VerifyAccessToken checks tok's signature against the realm's JWKS and
// returns its verified claims. The issuer and audience are left to the
// caller: Keycloak's access tokens carry aud "account" or none.
func (c *Client) VerifyAccessToken(ctx context.Context, tok string) (Claims, error) {
	sig, err := jose.ParseSignedCompact(tok, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("access token: expected a JWS signed with one of %v: %w", signingAlgs, err)
	}
	if len(sig.Signatures) != 1 {
		return nil, fmt.Errorf("access token: expected one signature, got %d", len(sig.Signatures))
	}
	kid := sig.Signatures[0].Header.KeyID
	ks, err := c.keys(ctx, false)
	if err != nil {
		return nil, err
	}
	if len(ks.Key(kid)) == 0 {
		// Keys rotate: fetch once more before failing.
		if ks, err = c.keys(ctx, true); err != nil {
			return nil, err
		}
	}
	keys := ks.Key(kid)
	if len(keys) == 0 {
		return nil, fmt.Errorf("access token: key id %q is not in the realm's JWKS at %s", kid, c.Endpoints.JWKS)
	}
	payload, err := sig.Verify(keys[0].Key)
	if err != nil {
		return nil, fmt.Errorf("access token: signature does not verify with key %q of %s: %w", kid, c.Endpoints.JWKS, err)
	}
	return decodeClaims(payload)
}

func (c *Client) keys(ctx context.Context, refresh bool) (*keySet, error) {
	c.jwksMu.Lock()
	defer c.jwksMu.Unlock()
	if c.jwks != nil && !refresh {
		return c.jwks, nil
	}
	ks := &keySet{}
	if err := c.getJSON(ctx, c.Endpoints.JWKS, &ks.JSONWebKeySet); err != nil {
		return nil, fmt.Errorf("JWK set: %w", err)
	}
	c.jwks = ks
	return ks, nil
}
