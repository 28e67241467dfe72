package plan

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// JSONFormatVersion is the version of the --format=json document. Fields may
// be added within a version; none is renamed or removed.
const JSONFormatVersion = "2"

// jsonPlan is the documented, stable --format=json document
// (docs/output-formats.md).
type jsonPlan struct {
	FormatVersion string        `json:"format_version"`
	Workspace     string        `json:"workspace"`
	Options       jsonOptions   `json:"options"`
	Changes       []jsonChange  `json:"changes"`
	Warnings      []jsonFinding `json:"warnings"`
	Errors        []jsonFinding `json:"errors"`
	Notes         []jsonFinding `json:"notes"`
	Summary       Summary       `json:"summary"`
	ChangesDigest string        `json:"changes_digest"`
}

// jsonOptions are the plan's options with every documented key, false and
// [] included, so that a script reads a key rather than its absence.
type jsonOptions struct {
	Destroy     bool     `json:"destroy"`
	All         bool     `json:"all"`
	RefreshOnly bool     `json:"refresh_only"`
	Prune       bool     `json:"prune"`
	Replace     []string `json:"replace"`
	Targets     []string `json:"targets"`
}

func jsonOptionsOf(o Options) jsonOptions {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return jsonOptions{Destroy: o.Destroy, All: o.All, RefreshOnly: o.RefreshOnly, Prune: o.Prune, Replace: nonNil(o.Replace), Targets: nonNil(o.Targets)}
}

type jsonChange struct {
	Email        string         `json:"email"`
	Action       string         `json:"action"`
	UserID       *string        `json:"user_id"`
	Drift        *Drift         `json:"drift"`
	Fields       []FieldChange  `json:"fields"`
	Reasons      []jsonFinding  `json:"reasons"`
	NotInCatalog bool           `json:"not_in_catalog"`
	History      *state.History `json:"history"`
	Attention    bool           `json:"attention"`
}

// RenderJSON writes the plan as one JSON document: every change, drift note or
// warning-bearing persona, and the summary. It holds no secret.
func RenderJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonDocument(p))
}

// RenderJSONCompact writes the document of RenderJSON on one line, without
// indentation: for machines (the journal, JSON Lines), at about half the
// size of the indented document.
func RenderJSONCompact(w io.Writer, p *Plan) error {
	return json.NewEncoder(w).Encode(jsonDocument(p))
}

// jsonDocument is p as the JSON document of format_version 2.
func jsonDocument(p *Plan) jsonPlan {
	doc := jsonPlan{
		FormatVersion: JSONFormatVersion,
		Workspace:     p.Workspace,
		Options:       jsonOptionsOf(p.Options),
		Changes:       []jsonChange{},
		Warnings:      jsonFindings(p.Warnings),
		Errors:        jsonFindings(p.Errors),
		Notes:         jsonFindings(p.Notes),
		Summary:       p.Summary(),
		ChangesDigest: p.ChangesDigest(),
	}
	for _, c := range p.Changes {
		if c.Action == NoOp && c.Drift == nil && len(c.Fields) == 0 {
			continue
		}
		jc := jsonChange{
			Email:        c.Email,
			Action:       c.Action.String(),
			Drift:        c.Drift,
			Fields:       c.Fields,
			Reasons:      jsonFindings(c.Reasons),
			NotInCatalog: c.NotInCatalog,
			History:      c.History,
			Attention:    c.Attention,
		}
		if jc.Fields == nil {
			jc.Fields = []FieldChange{}
		}
		if c.UserID != "" {
			id := c.UserID
			jc.UserID = &id
		}
		doc.Changes = append(doc.Changes, jc)
	}
	return doc
}

// UnmarshalJSON restores a field's values with the Go types the renderers
// expect (a module mix as map[string]float64, not map[string]any).
func (f *FieldChange) UnmarshalJSON(b []byte) error {
	var raw struct {
		Field      catalog.Field   `json:"name"`
		Before     json.RawMessage `json:"before"`
		After      json.RawMessage `json:"after"`
		NotApplied string          `json:"not_applied"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	f.Field, f.NotApplied = raw.Field, raw.NotApplied
	var err error
	if f.Before, err = decodeFieldValue(raw.Field, raw.Before); err != nil {
		return err
	}
	f.After, err = decodeFieldValue(raw.Field, raw.After)
	return err
}

func decodeFieldValue(field catalog.Field, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if field == catalog.FieldModuleMix {
		var m map[string]float64
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("field %s: %w", field, err)
		}
		return m, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("field %s: %w", field, err)
	}
	return s, nil
}

// CreatesIn returns the addresses that a plan's JSON document (RenderJSON's,
// as an open journal entry keeps it) creates, its creates and replaces,
// each of which signs a user up, with the name it signs them up with. A
// document that does not read creates nothing.
func CreatesIn(doc []byte) map[string]string {
	var d struct {
		Changes []struct {
			Email  string `json:"email"`
			Action string `json:"action"`
			Fields []struct {
				Name  string `json:"name"`
				After any    `json:"after"`
			} `json:"fields"`
		} `json:"changes"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	out := map[string]string{}
	for _, c := range d.Changes {
		if c.Action == Create.String() || c.Action == Replace.String() {
			out[c.Email] = ""
			for _, f := range c.Fields {
				if name, ok := f.After.(string); ok && f.Name == "name" {
					out[c.Email] = name
				}
			}
		}
	}
	return out
}
