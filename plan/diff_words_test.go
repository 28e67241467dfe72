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
	b.WriteString("head ") // no common first word, so the whole text is diffed
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

// FuzzWordDiff checks that a word diff gives both texts back, that no two
// neighbouring segments share an operation, and that every cut between
// segments falls where splitWords cuts that side, so words move whole.
func FuzzWordDiff(f *testing.F) {
	f.Add("Du bist Anna, 28, Studentin", "Du bist Anna, 29, Studentin")
	f.Add("one two three", "one three")
	f.Add("Grüße an Zoë", "Grüße an Zoé")
	f.Add("aaa aaa aaa", "aaa aaa aaa aaa")
	f.Add("x\xe2\x82y", "x\xe2\x82z")
	f.Add("", "neu")
	f.Fuzz(func(t *testing.T, before, after string) {
		segs := WordDiff(before, after)
		if got := joinSide(segs, Added); got != before {
			t.Fatalf("before side is %q, want %q", got, before)
		}
		if got := joinSide(segs, Removed); got != after {
			t.Fatalf("after side is %q, want %q", got, after)
		}
		for i, s := range segs {
			if s.Text == "" {
				t.Fatalf("segment %d is empty: %+v", i, segs)
			}
			if i > 0 && segs[i-1].Op == s.Op {
				t.Fatalf("segments %d and %d share an operation: %+v", i-1, i, segs)
			}
		}
		for _, side := range []struct {
			text string
			skip Op
		}{{before, Added}, {after, Removed}} {
			cuts := map[int]bool{}
			n := 0
			for _, w := range splitWords(side.text) {
				n += len(w)
				cuts[n] = true
			}
			n = 0
			for _, s := range segs {
				if s.Op == side.skip {
					continue
				}
				n += len(s.Text)
				if !cuts[n] {
					t.Fatalf("a segment ends at byte %d of %q, inside a word; segments %+v", n, side.text, segs)
				}
			}
		}
	})
}
