package manaauthdev

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Tokens look like mana-auth's: EdDSA JWTs (base64url header.claims.signature)
// with the claims sub, email, role, sid, tier, iss, aud, iat and exp. Each
// Server signs with a key of its own, made when it starts, and accepts a
// token only when that key signed it and its exp lies ahead of the
// server's clock, as mana-auth's jwtAuth middleware does with its JWKS.

// TokenIssuer is the iss claim of the tokens mana-auth-dev mints.
const TokenIssuer = "mana-auth-dev"

// AccessTokenTTL is how long mana-auth's tokens live (exp = iat + 900 in
// the recordings); the login's accessToken lives that long.
const AccessTokenTTL = 15 * time.Minute

// foreignKey signs the tokens of SignToken. No Server trusts it: such a
// token is accepted only where it is given whole as Options.AdminToken or
// Options.UserToken.
var foreignKey = sync.OnceValue(newSigningKey)

func newSigningKey() ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("ed25519 key: %v", err)) // crypto/rand never fails on supported platforms
	}
	return key
}

// SignToken returns a JWT with the given claims signed by a key that no
// Server trusts: a well-formed token of "another server". Give it to a
// Server whole as Options.AdminToken or UserToken to have it accepted.
func SignToken(claims map[string]any) string { return signToken(foreignKey(), claims) }

func signToken(key ed25519.PrivateKey, claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "kid": signingKeyID})
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("token claims are not JSON: %v", err))
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	return signed + "." + enc.EncodeToString(ed25519.Sign(key, []byte(signed)))
}

// TokenClaims returns the claims mana-auth puts in a token for a user,
// valid for ttl from now: sub, email, role, sid, tier, iss, aud, iat, exp.
func TokenClaims(sub, email, role string, now time.Time, ttl time.Duration) map[string]any {
	return map[string]any{
		"sub":   sub,
		"email": email,
		"role":  role,
		"sid":   NewID(),
		"tier":  TierPublic,
		"iss":   TokenIssuer,
		"aud":   "mana",
		"iat":   now.Unix(),
		"exp":   now.Add(ttl).Unix(),
	}
}

// Sign returns a token with exactly these claims, signed with the server's
// key: the server accepts it as long as its exp (if any) lies ahead of the
// server's clock. For tests that need unusual claims.
func (s *Server) Sign(claims map[string]any) string { return signToken(s.key, claims) }

// MintToken returns a token the server accepts for ttl from now by its
// clock, for the role (RoleAdmin: the admin API answers; any other role:
// 403). The subject is the server's admin (for RoleAdmin) or user, with
// the address <role>@mana-auth-dev.test.
func (s *Server) MintToken(role string, ttl time.Duration) string {
	sub := s.userID
	if role == RoleAdmin {
		sub = s.adminID
	}
	return s.MintTokenFor(sub, role+"@mana-auth-dev.test", role, ttl)
}

// MintTokenFor is MintToken for a given subject and address.
func (s *Server) MintTokenFor(sub, email, role string, ttl time.Duration) string {
	return s.Sign(TokenClaims(sub, email, role, s.now(), ttl))
}

// errBadToken is any token the server does not accept: not a JWT, another
// key's signature, or expired (errTokenExpired, which is one too).
var (
	errBadToken     = errors.New("invalid or expired token")
	errTokenExpired = fmt.Errorf("%w: expired", errBadToken)
)

// verifyToken returns the claims of a token signed with the server's key
// whose exp, when present, lies ahead of the server's clock (jose's rule:
// expired when exp <= now in whole seconds).
func (s *Server) verifyToken(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errBadToken
	}
	enc := base64.RawURLEncoding
	rawHeader, err1 := enc.DecodeString(parts[0])
	rawClaims, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errBadToken
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(rawHeader, &header) != nil || header.Alg != "EdDSA" {
		return nil, errBadToken
	}
	if !ed25519.Verify(s.key.Public().(ed25519.PublicKey), []byte(parts[0]+"."+parts[1]), sig) {
		return nil, errBadToken
	}
	dec := json.NewDecoder(bytes.NewReader(rawClaims))
	dec.UseNumber()
	var claims map[string]any
	if dec.Decode(&claims) != nil || claims == nil {
		return nil, errBadToken
	}
	if v, ok := claims["exp"]; ok {
		n, _ := v.(json.Number) // not a number: "", which Float64 refuses
		switch exp, err := n.Float64(); {
		case err != nil || math.IsNaN(exp):
			return nil, errBadToken
		case exp <= float64(s.now().Unix()):
			return nil, errTokenExpired
		}
	}
	return claims, nil
}
