package catalog

import "strings"

// Suggest returns the name in names that got is most likely a misspelling of,
// or "" when none is close. Case, '_' and '-' are ignored ("SystemPrompt",
// "system_prompt"), a name within two edits counts as close ("sytemPrompt",
// "emial"), and so does a name that contains got or is contained in it when the
// shorter has at least four letters ("prompt", "cadence").
func Suggest(got string, names []string) string {
	g := normalizeName(got)
	best, bestDist := "", 3
	for _, name := range names {
		n := normalizeName(name)
		d := editDistance(g, n)
		if d > 2 && min(len(g), len(n)) >= 4 && (strings.Contains(n, g) || strings.Contains(g, n)) {
			d = 2
		}
		if d < bestDist && d < max(len(g), 1) {
			best, bestDist = name, d
		}
	}
	return best
}

func normalizeName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent characters each
// cost one, so "emial" is one edit from "email".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// rows i-2, i-1 and i of the dynamic-programming table.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
