package contracttest

// The JSON comparison the contract tests use.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Timestamp matches the service's timestamps: ISO-8601 UTC with
// milliseconds and Z.
var Timestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// UserID matches the service's user ids: 32 alphanumerics.
var UserID = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// JSONType names the JSON type of a value decoded by encoding/json.
func JSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// ShapeDiff lists where got differs from want in shape: the keys of every
// object and the JSON type of every value, recursively, and the length of
// every array. Values themselves are not compared. Each difference names
// its place as a JSON path ($.personas[0].email).
func ShapeDiff(want, got any) []string {
	var out []string
	shapeDiff("$", want, got, &out)
	return out
}

func shapeDiff(path string, want, got any, out *[]string) {
	wt, gt := JSONType(want), JSONType(got)
	if wt != gt {
		*out = append(*out, fmt.Sprintf("%s: %s, want %s", path, gt, wt))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for _, k := range sortedKeys(w) {
			if _, ok := g[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s: missing key %q", path, k))
				continue
			}
			shapeDiff(path+"."+k, w[k], g[k], out)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s: unexpected key %q", path, k))
			}
		}
	case []any:
		g := got.([]any)
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: %d elements, want %d", path, len(g), len(w)))
		}
		for i := 0; i < min(len(w), len(g)); i++ {
			shapeDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Keys returns the sorted keys of a JSON object, joined by commas.
func Keys(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "(" + JSONType(v) + ")"
	}
	return strings.Join(sortedKeys(m), ",")
}
