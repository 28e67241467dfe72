package catalog

import (
	"bytes"
	_ "embed"
)

//go:embed catalog.schema.json
var schema []byte

// Schema returns the catalog format as a JSON Schema (draft 2020-12), for
// editors to validate a catalog as people type. It expresses every rule a
// schema can; Load also enforces the rest (unique emails, keys given twice,
// finite weights) and the warnings.
func Schema() []byte { return bytes.Clone(schema) }
