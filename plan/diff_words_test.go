package plan

import (
	"strings"
	"testing"
)

func joinSide(segs []Segment, skip Op) string {
	var b strings.Builder
	for _, s := range segs {
		if s.Op != skip {
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

func TestWordDiffMovesWholeWords(t *testing.T) {
	tests := []struct {
		before, after string
		removed       []string
		added         []string
	}{
		{"Du bist Anna, 28, Studentin", "Du bist Anna, 29, Studentin", []string{"28"}, []string{"29"}},
		{"one two three", "one three", []string{"two "}, nil},
		{"one three", "one two three", nil, []string{"two "}},
		{"Tippst schnell", "Tippst schnell, machst Tippfehler", nil, []string{", machst Tippfehler"}},
		{"", "neu", nil, []string{"neu"}},
		{"Grüße an Zoë", "Grüße an Zoé", []string{"Zoë"}, []string{"Zoé"}},
	}
	for _, tt := range tests {
		segs := WordDiff(tt.before, tt.after)
		if got := joinSide(segs, Added); got != tt.before {
			t.Errorf("before side of %q -> %q is %q", tt.before, tt.after, got)
		}
		if got := joinSide(segs, Removed); got != tt.after {
			t.Errorf("after side of %q -> %q is %q", tt.before, tt.after, got)
		}
		var removed, added []string
		for _, s := range segs {
			switch s.Op {
			case Removed:
				removed = append(removed, s.Text)
			case Added:
				added = append(added, s.Text)
			}
		}
		if strings.Join(removed, "|") != strings.Join(tt.removed, "|") || strings.Join(added, "|") != strings.Join(tt.added, "|") {
			t.Errorf("WordDiff(%q, %q): removed %q added %q, want %q and %q", tt.before, tt.after, removed, added, tt.removed, tt.added)
		}
	}
}

func TestWordDiffOfManyDistinctWords(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 80000; i++ {
		a.WriteString("w")
		a.WriteString(strings.Repeat("x", i%7))
		a.WriteString(itoa(i))
		a.WriteString(" ")
	}
	b.WriteString(a.String())
	b.WriteString("tail")
	segs := WordDiff(a.String(), b.String())
	if joinSide(segs, Removed) != b.String() || joinSide(segs, Added) != a.String() {
		t.Fatal("a diff of 80,000 distinct words does not reproduce both sides")
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var out []byte
	for ; i > 0; i /= 10 {
		out = append([]byte{digits[i%10]}, out...)
	}
	return string(out)
}
