package plan

import (
	"strings"
	"unicode"
	"unicode/utf8"

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

// WordDiff compares two texts word by word. The words both texts begin and
// end with are equal as they are; between them, go-diff compares characters
// (or lines), so each word and each run of spaces is mapped to one rune, the
// way its DiffLinesToChars maps lines, and the diff, with its semantic
// clean-up, moves whole words. A changed sentence in a long prompt costs the
// sentence, not the prompt.
func WordDiff(before, after string) []Segment {
	head := commonWordPrefix(before, after)
	tail := commonWordSuffix(before[head:], after[head:])
	out := appendSegment(make([]Segment, 0, 8), Equal, before[:head])
	for _, s := range diffWords(before[head:len(before)-tail], after[head:len(after)-tail]) {
		out = appendSegment(out, s.Op, s.Text)
	}
	return appendSegment(out, Equal, before[len(before)-tail:])
}

// appendSegment adds text with op to out, joining it to the last segment
// when that has the same op; empty text adds nothing.
func appendSegment(out []Segment, op Op, text string) []Segment {
	switch n := len(out); {
	case text == "":
	case n > 0 && out[n-1].Op == op:
		out[n-1].Text += text
	default:
		out = append(out, Segment{Op: op, Text: text})
	}
	return out
}

// commonWordPrefix returns the length of the longest common prefix of a and
// b that ends between two words (or at a text's end) in both: splitWords of
// either text then cuts there too.
func commonWordPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	for i > 0 && !(wordBoundary(a, i) && wordBoundary(b, i)) {
		i--
	}
	return i
}

// commonWordSuffix returns the length of the longest common suffix of a
// and b that starts between two words (or at a text's start) in both.
func commonWordSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	for n > 0 && !(wordBoundary(a, len(a)-n) && wordBoundary(b, len(b)-n)) {
		n--
	}
	return n
}

// wordBoundary says whether splitWords cuts s at byte i: at either end, or
// between two whole characters of different classes, or next to a
// punctuation mark, which is a word of its own.
func wordBoundary(s string, i int) bool {
	if i == 0 || i == len(s) {
		return true
	}
	if !utf8.RuneStart(s[i]) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	next, _ := utf8.DecodeRuneInString(s[i:])
	p, n := runeClass(prev), runeClass(next)
	return p != n || n == classOther
}

// diffWords is WordDiff of two texts that differ from their first word to
// their last.
func diffWords(before, after string) []Segment {
	switch {
	case before == "" && after == "":
		return nil
	case before == "":
		return []Segment{{Op: Added, Text: after}}
	case after == "":
		return []Segment{{Op: Removed, Text: before}}
	}
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
		out = appendSegment(out, op, text)
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
	for i := 0; i < len(s); {
		var c, size int
		if b := s[i]; b < utf8.RuneSelf {
			c, size = int(asciiClass[b]), 1
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			c, size = runeClass(r), n
		}
		if i > start && (c != class || c == classOther) {
			out = append(out, s[start:i])
			start = i
		}
		class = c
		i += size
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

// asciiClass is runeClass of each ASCII character, looked up instead of
// computed: most of a prompt is ASCII.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for r := range rune(utf8.RuneSelf) {
		t[r] = uint8(runeClass(r))
	}
	return t
}()

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
