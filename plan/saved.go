package plan

import (
	"encoding/json"
	"fmt"
)

// SavedFormatVersion is the version of a plan file's layout.
const SavedFormatVersion = "1"

const savedKind = "personactl-plan"

// saved is a plan file: the plan with everything apply needs (desired values,
// the recorded state's lineage and serial, live fingerprints) and no secret:
// passwords are derived again when the plan is applied.
type saved struct {
	Kind          string `json:"kind"`
	FormatVersion string `json:"format_version"`
	Plan          *Plan  `json:"plan"`
}

// Encode returns the plan file for p.
func Encode(p *Plan) ([]byte, error) {
	return json.MarshalIndent(saved{Kind: savedKind, FormatVersion: SavedFormatVersion, Plan: p}, "", "  ")
}

// Decode reads a plan file written by Encode.
func Decode(b []byte) (*Plan, error) {
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("not a personactl plan file (%v); write one with personactl plan --out=FILE", err)
	}
	if s.Kind != savedKind || s.Plan == nil {
		return nil, fmt.Errorf("not a personactl plan file; write one with personactl plan --out=FILE")
	}
	if s.FormatVersion != SavedFormatVersion {
		return nil, fmt.Errorf("plan file format %q is not %q; make the plan again with this personactl", s.FormatVersion, SavedFormatVersion)
	}
	return s.Plan, nil
}
