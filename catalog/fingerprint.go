package catalog

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The secret's fingerprint: PBKDF2 with HMAC-SHA256. It tells whether the
// personas recorded in a state got their passwords from the secret in
// effect now, without the state holding the secret or anything a guess
// could be checked against cheaply.
const (
	fingerprintScheme = "pbkdf2-sha256"
	// FingerprintIterations is how many PBKDF2 rounds Fingerprint runs:
	// about 50 ms on a 2-core AMD EPYC with SHA extensions (measured by
	// BenchmarkFingerprint), once per run, and a cost per guess for whoever
	// reads a state and tries to recover the secret from it.
	FingerprintIterations = 180_000
	// maxFingerprintIterations bounds what SameSecret will run for a
	// fingerprint read from a state, so that an edited state cannot make a
	// plan compute for hours.
	maxFingerprintIterations = 16 * FingerprintIterations
	fingerprintLength        = 32
	// fingerprintSaltPrefix sets these derivations apart from any other use
	// of the secret with PBKDF2, and makes the salt long enough for FIPS 140
	// whatever the lineage.
	fingerprintSaltPrefix = "personactl seed secret fingerprint\x00"
)

// Fingerprint returns a slow, salted, one-way fingerprint of the seed
// secret, "pbkdf2-sha256$180000$<base64>", naming its scheme and rounds so
// that a later change of either is recognised. salt is the state's lineage:
// two states never share fingerprints. It never reveals the secret, and
// costs about 50 ms: compute it once per run.
func (s Secret) Fingerprint(salt string) string {
	return s.fingerprint(salt, fingerprintRounds)
}

// fingerprintRounds is the rounds Fingerprint runs: FingerprintIterations,
// unless a test lowered it.
var fingerprintRounds = FingerprintIterations

// LowerFingerprintRoundsForTesting makes Fingerprint run n rounds, so that
// suites running personactl hundreds of times do not spend 50 ms a run on
// it. A fingerprint names its rounds, so SameSecret still compares it with
// those of any other count. Never call it outside tests.
func LowerFingerprintRoundsForTesting(n int) { fingerprintRounds = n }

func (s Secret) fingerprint(salt string, iterations int) string {
	if s.key == nil {
		panic("catalog: Fingerprint called on the zero Secret; build one with ResolveSecret")
	}
	sum, err := pbkdf2.Key(sha256.New, string(s.key), []byte(fingerprintSaltPrefix+salt), iterations, fingerprintLength)
	if err != nil {
		// Only Go's FIPS 140-only mode fails here, for a secret shorter
		// than 14 bytes; there is no fingerprint to give then.
		panic(fmt.Sprintf("catalog: cannot fingerprint the seed secret: %v", err))
	}
	return fingerprintScheme + "$" + strconv.Itoa(iterations) + "$" + base64.RawStdEncoding.EncodeToString(sum)
}

// SameSecret reports whether fingerprint, as Fingerprint returned it for
// salt, was made from the secret s, recomputing with the rounds the
// fingerprint names. A fingerprint of another scheme, or one that cannot
// be read, is an error: the caller should call the credentials unknown
// rather than drifted.
func SameSecret(fingerprint string, s Secret, salt string) (bool, error) {
	scheme, rest, _ := strings.Cut(fingerprint, "$")
	if scheme != fingerprintScheme {
		return false, fmt.Errorf("secret fingerprint of unknown scheme %q (this personactl knows %s); a newer personactl wrote it: upgrade personactl", scheme, fingerprintScheme)
	}
	rounds, encoded, ok := strings.Cut(rest, "$")
	iterations, err := strconv.Atoi(rounds)
	if !ok || err != nil || iterations < 1 || iterations > maxFingerprintIterations {
		return false, fmt.Errorf("secret fingerprint %q names %q rounds, not a number from 1 to %d; the state was edited or damaged: verify the personas with personactl verify", abbreviate(fingerprint), rounds, maxFingerprintIterations)
	}
	want, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(want) != fingerprintLength {
		return false, fmt.Errorf("secret fingerprint %q does not end in %d bytes of unpadded base64; the state was edited or damaged: verify the personas with personactl verify", abbreviate(fingerprint), fingerprintLength)
	}
	got := s.fingerprint(salt, iterations)
	gotSum, _ := base64.RawStdEncoding.DecodeString(got[strings.LastIndexByte(got, '$')+1:])
	return subtle.ConstantTimeCompare(gotSum, want) == 1, nil
}

// abbreviate shortens a value read from a file for an error message.
func abbreviate(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
