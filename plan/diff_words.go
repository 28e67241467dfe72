package plan

import (
	"strings"
	"unicode"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Op says whether a piece of a word diff is kept, removed or added.
type Op int8

// The operations of a word diff.
const (
	Equal Op = iota
	Removed
	Added
)

// Segment is a run of text with one Op.
type Segment struct {
	Op   Op
	Text string
}

// WordDiff compares two texts word by word. go-diff compares characters (or
// lines); here each word and each run of spaces is mapped to one rune, the way
// its DiffLinesToChars maps lines, so that the diff, and its semantic clean-up,
// move whole words.
func WordDiff(before, after string) []Segment {
	tokens := make(map[string]rune, 64)
	words := make([]string, 0, 64)
	encode := func(s string) ([]rune, bool) {
		split := splitWords(s)
		out := make([]rune, 0, len(split))
		for _, w := range split {
			r, ok := tokens[w]
			if !ok {
				r, ok = tokenRune(len(words))
				if !ok {
					return nil, false
				}
				tokens[w] = r
				words = append(words, w)
			}
			out = append(out, r)
		}
		return out, true
	}
	a, okA := encode(before)
	b, okB := encode(after)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	var diffs []diffmatchpatch.Diff
	if okA && okB {
		diffs = dmp.DiffMainRunes(a, b, false)
	} else {
		// More distinct words than runes to map them to: fall back to characters.
		diffs = dmp.DiffMain(before, after, false)
		words = nil
	}
	diffs = dmp.DiffCleanupSemantic(diffs)
	out := make([]Segment, 0, len(diffs))
	for _, d := range diffs {
		text := d.Text
		if words != nil {
			var sb strings.Builder
			for _, r := range d.Text {
				sb.WriteString(words[runeIndex(r)])
			}
			text = sb.String()
		}
		op := Equal
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = Removed
		case diffmatchpatch.DiffInsert:
			op = Added
		}
		if n := len(out); n > 0 && out[n-1].Op == op {
			out[n-1].Text += text
			continue
		}
		out = append(out, Segment{Op: op, Text: text})
	}
	return out
}

// splitWords cuts s into words, runs of white space and single punctuation
// marks, so that joining the pieces gives s back and "schnell," differs from
// "schnell" only by its comma.
func splitWords(s string) []string {
	out := make([]string, 0, len(s)/3+1)
	start := 0
	class := -1
	for i, r := range s {
		c := runeClass(r)
		if i > start && (c != class || c == classOther) {
			out = append(out, s[start:i])
			start = i
		}
		class = c
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

const (
	classSpace = iota
	classWord
	classOther
)

func runeClass(r rune) int {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_' || r == '-' || r == '\'':
		return classWord
	}
	return classOther
}

// Words are mapped to private-use runes, which no text-based clean-up step
// mistakes for letters, spaces or punctuation.
const (
	privateUseA     = 0xE000
	privateUseASize = 0xF8FF - 0xE000 + 1
	privateUseB     = 0xF0000
	privateUseBSize = 0x10FFFD - 0xF0000 + 1
)

func tokenRune(i int) (rune, bool) {
	switch {
	case i < privateUseASize:
		return rune(privateUseA + i), true
	case i < privateUseASize+privateUseBSize:
		return rune(privateUseB + i - privateUseASize), true
	}
	return 0, false
}

func runeIndex(r rune) int {
	if r >= privateUseB {
		return int(r-privateUseB) + privateUseASize
	}
	return int(r - privateUseA)
}
