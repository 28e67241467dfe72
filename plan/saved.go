package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// SavedFormatVersion is the version of a plan file's layout. Version 2 added
// the checksum, the seed secret fingerprint and per-change credentials;
// version 3 holds warnings, errors, notes and reasons as coded findings. A
// file of another version is refused: plans are short-lived, made again in
// a second.
const SavedFormatVersion = "3"

const savedKind = "personactl-plan"

// ErrCorruptPlan is the error of a plan file whose checksum does not match
// its content (test it with errors.Is).
var ErrCorruptPlan = errors.New("the plan file is corrupted or was edited (its checksum does not match its content); make a new plan with personactl plan --out=FILE")

// saved is a plan file: the plan with everything apply needs (desired values,
// the recorded state's lineage and serial, live fingerprints) and no secret:
// passwords are derived again when the plan is applied. SHA256 is Plan.Hash,
// the SHA-256 of the plan's canonical (compact) JSON.
type saved struct {
	Kind          string          `json:"kind"`
	FormatVersion string          `json:"format_version"`
	SHA256        string          `json:"sha256"`
	Plan          json.RawMessage `json:"plan"`
}

// Encode returns the plan file for p.
func Encode(p *Plan) ([]byte, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	return json.MarshalIndent(saved{Kind: savedKind, FormatVersion: SavedFormatVersion, SHA256: hashOf(body), Plan: body}, "", "  ")
}

// Decode reads a plan file written by Encode. It refuses a file that is not
// a plan file, one of another format version, one whose checksum does not
// match its content (ErrCorruptPlan), and one whose changes are not what
// Compute makes (out of order, or values for another address). A file that
// passes is still checked change by change against live by Stale: that, not
// the checksum, protects against a plan edited with care.
func Decode(b []byte) (*Plan, error) {
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("not a personactl plan file (%v); write one with personactl plan --out=FILE", err)
	}
	if s.Kind != savedKind || len(s.Plan) == 0 || string(s.Plan) == "null" {
		return nil, fmt.Errorf("not a personactl plan file; write one with personactl plan --out=FILE")
	}
	if s.FormatVersion != SavedFormatVersion {
		return nil, fmt.Errorf("plan file format %q is not %q, the one this personactl reads; make the plan again with this personactl: personactl plan --out=FILE", s.FormatVersion, SavedFormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(s.Plan))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrCorruptPlan, err)
	}
	if p.Hash() != s.SHA256 {
		return nil, ErrCorruptPlan
	}
	if err := p.consistent(); err != nil {
		return nil, fmt.Errorf("the plan file is not consistent: %v; make a new plan with personactl plan --out=FILE", err)
	}
	return &p, nil
}

// consistent checks the shape Compute gives every plan: changes in strictly
// increasing email order, each consistent on its own.
func (p *Plan) consistent() error {
	for i := range p.Changes {
		c := &p.Changes[i]
		if i > 0 && p.Changes[i-1].Email >= c.Email {
			return fmt.Errorf("changes out of order or repeated at %s", c.Email)
		}
		if err := c.consistent(); err != nil {
			return err
		}
	}
	return nil
}

// Hash is the SHA-256 of the plan's canonical JSON (json.Marshal of the
// plan): the checksum a plan file carries, and what a PR bot compares to
// tell whether a plan changed.
func (p *Plan) Hash() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic("plan: hashing: " + err.Error()) // plain strings and finite floats always marshal
	}
	return hashOf(b)
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
