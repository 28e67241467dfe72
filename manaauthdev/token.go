package manaauthdev

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// signingKey is this process's key for tokens that look like mana-auth's
// EdDSA JWTs. mana-auth-dev never verifies them (it compares whole tokens),
// the signature only makes them well-formed for clients that decode claims.
var signingKey = sync.OnceValue(func() ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("ed25519 key: %v", err))
	}
	return key
})

// SignToken returns a JWT (EdDSA, base64url header.claims.signature) with
// the given claims, signed by a key of this process.
func SignToken(claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": "mana-auth-dev"})
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("token claims are not JSON: %v", err))
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sig := ed25519.Sign(signingKey(), []byte(signed))
	return signed + "." + enc.EncodeToString(sig)
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
		"iss":   "mana-auth-dev",
		"aud":   "mana",
		"iat":   now.Unix(),
		"exp":   now.Add(ttl).Unix(),
	}
}
