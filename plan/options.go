package plan

import (
	"slices"
	"strings"
)

// Addresses are emails as --target and --replace compare them, with the
// catalog's and live's addresses: in lower case, each once, sorted.
func Addresses(emails []string) []string {
	if len(emails) == 0 {
		return nil
	}
	out := make([]string, 0, len(emails))
	for _, e := range emails {
		out = append(out, strings.ToLower(e))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
