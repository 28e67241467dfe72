package catalog

import (
	"strconv"
	"strings"
	"testing"
)

func mustSecret(t testing.TB, key string) Secret {
	t.Helper()
	s, err := NewSecret(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFingerprint checks what credential drift relies on: the same secret
// and salt always give the same fingerprint, a rotated secret or another
// state's lineage gives another, and nothing of the secret shows.
func TestFingerprint(t *testing.T) {
	const secretKey = "rotate-me-7f3a9c"
	s := mustSecret(t, secretKey)
	rotated := mustSecret(t, "rotate-me-7f3a9d")
	const lineage = "5b0e6f1c-lineage"

	fp := s.Fingerprint(lineage)
	prefix := "pbkdf2-sha256$" + strconv.Itoa(FingerprintIterations) + "$"
	if !strings.HasPrefix(fp, prefix) || len(fp) != len(prefix)+43 {
		t.Fatalf("Fingerprint = %q, want %s and 43 characters of base64", fp, prefix)
	}
	if again := s.Fingerprint(lineage); again != fp {
		t.Errorf("the same secret and salt gave %q, then %q", fp, again)
	}
	others := map[string]string{
		"another secret": rotated.Fingerprint(lineage),
		"another salt":   s.Fingerprint(lineage + "x"),
	}
	for what, other := range others {
		if other == fp {
			t.Errorf("%s gives the same fingerprint %q", what, fp)
		}
	}
	for _, leak := range []string{secretKey, s.Password("persona.anna@mana.test")} {
		if strings.Contains(fp, leak) {
			t.Errorf("the fingerprint %q shows %q", fp, leak)
		}
	}

	same, err := SameSecret(fp, s, lineage)
	if err != nil || !same {
		t.Errorf("SameSecret(own fingerprint) = %v, %v; want true", same, err)
	}
	same, err = SameSecret(fp, rotated, lineage)
	if err != nil || same {
		t.Errorf("SameSecret(rotated secret) = %v, %v; want false", same, err)
	}
	same, err = SameSecret(fp, s, "another-lineage")
	if err != nil || same {
		t.Errorf("SameSecret(another salt) = %v, %v; want false", same, err)
	}
}

// TestSameSecretUsesTheFingerprintsRounds checks that a fingerprint made
// with other rounds (an older personactl's) is still compared correctly,
// by recomputing with the rounds it names.
func TestSameSecretUsesTheFingerprintsRounds(t *testing.T) {
	s := mustSecret(t, "s3cr3t")
	old := s.fingerprint("lineage", 1000)
	if !strings.HasPrefix(old, "pbkdf2-sha256$1000$") {
		t.Fatalf("fingerprint = %q", old)
	}
	if same, err := SameSecret(old, s, "lineage"); err != nil || !same {
		t.Errorf("SameSecret(1000 rounds, same secret) = %v, %v; want true", same, err)
	}
	if same, err := SameSecret(old, mustSecret(t, "other"), "lineage"); err != nil || same {
		t.Errorf("SameSecret(1000 rounds, other secret) = %v, %v; want false", same, err)
	}
	// The rounds are part of what is compared: the same sum under another
	// count of rounds is not the same secret.
	forged := strings.Replace(old, "$1000$", "$1001$", 1)
	if same, err := SameSecret(forged, s, "lineage"); err != nil || same {
		t.Errorf("SameSecret(sum of 1000 rounds labelled 1001) = %v, %v; want false", same, err)
	}
}

func TestSameSecretRefusesWhatItCannotRead(t *testing.T) {
	s := mustSecret(t, "s3cr3t")
	good := s.fingerprint("lineage", 1000)
	sum := good[strings.LastIndexByte(good, '$')+1:]
	tests := []struct{ fingerprint, want string }{
		{"argon2id$3$" + sum, `unknown scheme "argon2id"`},
		{"", `unknown scheme ""`},
		{"pbkdf2-sha256$" + sum, "rounds, not a number"},
		{"pbkdf2-sha256$0$" + sum, `names "0" rounds`},
		{"pbkdf2-sha256$-5$" + sum, `names "-5" rounds`},
		{"pbkdf2-sha256$999999999$" + sum, `names "999999999" rounds, not a number from 1 to 2880000`},
		{"pbkdf2-sha256$1000$" + sum + "=", "does not end in 32 bytes of unpadded base64"},
		{"pbkdf2-sha256$1000$" + sum[:20], "does not end in 32 bytes"},
		{"pbkdf2-sha256$1000$" + strings.Repeat("!", 43), "does not end in 32 bytes"},
	}
	for _, tt := range tests {
		same, err := SameSecret(tt.fingerprint, s, "lineage")
		if err == nil || same || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SameSecret(%q) = %v, %v; want an error saying %q", tt.fingerprint, same, err, tt.want)
		}
	}
}

// BenchmarkFingerprint shows what one fingerprint costs: the target is
// about 50 ms, once per run.
func BenchmarkFingerprint(b *testing.B) {
	s := mustSecret(b, DevSecret)
	for b.Loop() {
		s.Fingerprint("5b0e6f1c-lineage")
	}
}
