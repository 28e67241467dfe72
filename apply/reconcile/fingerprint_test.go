package reconcile

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// TestCompareFingerprints: a recorded fingerprint of the secret in effect
// made with other rounds is the same secret; another secret's differs; one
// that cannot be read is left out, so that the plan calls it unknown
// rather than a rotated secret whose way out destroys history.
func TestCompareFingerprints(t *testing.T) {
	const lineage = "L1"
	secret, err := catalog.NewSecret("the runner's secret")
	if err != nil {
		t.Fatal(err)
	}
	other, err := catalog.NewSecret("another secret")
	if err != nil {
		t.Fatal(err)
	}
	current := secret.Fingerprint(lineage)
	sum, err := pbkdf2.Key(sha256.New, "the runner's secret", []byte("personactl seed secret fingerprint\x00"+lineage), 200_000, 32)
	if err != nil {
		t.Fatal(err)
	}
	moreRounds := "pbkdf2-sha256$200000$" + base64.RawStdEncoding.EncodeToString(sum)
	rotated := other.Fingerprint(lineage)
	recorded := &state.State{Lineage: lineage, Personas: []state.RecordedPersona{
		{Email: "a@mana.test", SecretFingerprint: current},
		{Email: "b@mana.test", SecretFingerprint: moreRounds},
		{Email: "c@mana.test", SecretFingerprint: rotated},
		{Email: "d@mana.test", SecretFingerprint: "not a fingerprint"},
		{Email: "e@mana.test", SecretFingerprint: "pbkdf2-sha256$many$AAAA"},
		{Email: "f@mana.test"},
	}}
	got := compareFingerprints(recorded, current, secret)
	want := map[string]bool{moreRounds: true, rotated: false}
	if len(got) != len(want) {
		t.Errorf("compared %v, want %v", got, want)
	}
	for fp, same := range want {
		if g, ok := got[fp]; !ok || g != same {
			t.Errorf("%s: same secret %v (compared %v), want %v", fp, g, ok, same)
		}
	}
}
