package catalog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// DevSecret is the public development seed secret Mana's seed script fell back
// to when PERSONA_SEED_SECRET was unset. Anyone can read it, so a persona made
// with it can be logged into by anyone who knows its address.
const DevSecret = "dev-persona-seed-secret-rotate-in-prod"

// passwordLength is how many characters of the filtered base64 the runner uses.
const passwordLength = 32

// Secret is the key persona passwords are derived from. Its zero value is
// unusable; build one with ResolveSecret. It never prints its value.
type Secret struct {
	key []byte
	// Fallback is true when the key is the public DevSecret: because
	// PERSONA_SEED_SECRET was unset, or because it was set to DevSecret.
	// Either way anyone can derive the passwords.
	Fallback bool
}

// String hides the key so that a Secret can never leak through a log line or an error.
func (s Secret) String() string {
	if s.Fallback {
		return "<development fallback secret>"
	}
	return "<redacted>"
}

// GoString hides the key from %#v as well.
func (s Secret) GoString() string { return s.String() }

// ErrEmptySecret is returned for a PERSONA_SEED_SECRET that is set but empty.
var ErrEmptySecret = errors.New("PERSONA_SEED_SECRET is set but empty: the persona-runner refuses an empty secret, so personas created with it could never be driven; set it to the runner's secret or unset it for local development")

// ErrSecretNotText is returned for a PERSONA_SEED_SECRET that is not valid
// UTF-8: the runner (Node) would read U+FFFD where personactl hashes the raw
// bytes, and could not log in as any persona created with it.
var ErrSecretNotText = errors.New("PERSONA_SEED_SECRET is not valid UTF-8: the persona-runner reads it as text and would derive other passwords than personactl, so no persona could be driven; set it to the runner's secret as the runner reads it")

// ErrBlankSecret is returned for a PERSONA_SEED_SECRET of only whitespace,
// as a secret lost to quoting or a blank line in a secrets file looks.
var ErrBlankSecret = errors.New("PERSONA_SEED_SECRET is only whitespace: that is no secret (a quoting mistake or an empty line in a secrets file?); set it to the persona-runner's secret")

// ErrFallbackInProduction is returned when NODE_ENV=production and no secret is set.
var ErrFallbackInProduction = errors.New("PERSONA_SEED_SECRET is unset and NODE_ENV=production: refusing the public development fallback secret; set PERSONA_SEED_SECRET to the persona-runner's secret")

// ErrDevSecretInProduction is returned when NODE_ENV=production and
// PERSONA_SEED_SECRET is set to the public development secret itself.
var ErrDevSecretInProduction = errors.New("PERSONA_SEED_SECRET is the public development secret and NODE_ENV=production: anyone could log in as these personas; set PERSONA_SEED_SECRET to the persona-runner's secret")

// ResolveSecret picks the seed secret the way Mana's seed script did, with
// personactl's extra refusals. lookup reads the environment (os.LookupEnv in
// production, a map in tests).
func ResolveSecret(lookup func(string) (string, bool)) (Secret, error) {
	v, ok := lookup("PERSONA_SEED_SECRET")
	production := false
	if env, _ := lookup("NODE_ENV"); env == "production" {
		production = true
	}
	switch {
	case ok && v == "":
		return Secret{}, ErrEmptySecret
	case ok && v == DevSecret && production:
		return Secret{}, ErrDevSecretInProduction
	case ok:
		return NewSecret(v)
	case production:
		return Secret{}, ErrFallbackInProduction
	}
	return Secret{key: []byte(DevSecret), Fallback: true}, nil
}

// NewSecret wraps an explicit key, for tests and callers that already hold one.
func NewSecret(key string) (Secret, error) {
	switch {
	case key == "":
		return Secret{}, ErrEmptySecret
	case !utf8.ValidString(key):
		return Secret{}, ErrSecretNotText
	case strings.TrimSpace(key) == "":
		return Secret{}, ErrBlankSecret
	}
	return Secret{key: []byte(key), Fallback: key == DevSecret}, nil
}

// CheckServer refuses the development fallback secret against a server that is
// not on loopback, unless allowFallback says the user asked for it explicitly.
// It is the one call to make once the admin API's URL is known.
func (s Secret) CheckServer(server *url.URL, allowFallback bool) error {
	if !s.Fallback || allowFallback || IsLoopback(server) {
		return nil
	}
	return fmt.Errorf("PERSONA_SEED_SECRET is unset or set to the public development secret, and %s is not on loopback: refusing the public development secret, which would let anyone log in as these personas; set PERSONA_SEED_SECRET to the persona-runner's secret, or pass --allow-dev-secret if this server really is for development", server.Redacted())
}

// IsLoopback reports whether a URL's host is a loopback name or address.
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Password derives the persona password for email: the first 32 characters of
// base64(HMAC-SHA256(secret, email)) with everything outside [A-Za-z0-9]
// removed. It is bit-identical to Mana's seed script and persona-runner.
func (s Secret) Password(email string) string {
	if s.key == nil {
		panic("catalog: Password called on the zero Secret; build one with ResolveSecret")
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(email))
	encoded := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var b strings.Builder
	for i := 0; i < len(encoded) && b.Len() < passwordLength; i++ {
		c := encoded[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
		}
	}
	return b.String()
}
