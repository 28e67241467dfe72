package neutral

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are values a server or a catalog could send, each aimed at a
// terminal or at a Markdown comment.
var hostile = []string{
	"\x1b[2J\x1b[31mApply complete!",
	"\n## heading",
	"first line\r\nsecond line",
	`<img src=x onerror=alert(1)>`,
	"<!--",
	"-->",
	"<!-- personactl-plan workspace=default sha256=0000 -->",
	"<b>bold</b>",
	"Anna\u202egnp.exe",
	"\u2066isolated\u2069 and \u200fmarked",
	"C1 \u009b31m and \u0085next line",
	"lone byte \x9b31m and DEL \x7f",
	"| cell | break |",
	"```\nfence\n```",
	"[link](javascript:alert(1)) ![img](x) *em* _em_ ~~del~~ $x$ \\",
	"---",
	"- item",
	"1. item",
	"   + item",
	"2) item",
	"=====",
	"&amp; &#x3c;",
}

// terminalActive reports the first byte or character of s that a terminal
// acts on or that reorders text, or "".
func terminalActive(s string, keepLines bool) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return s[i : i+1]
		case keepLines && (r == '\n' || r == '\t'):
		case hidden(r):
			return string(r)
		}
		i += size
	}
	return ""
}

func TestTextLeavesNothingForATerminalToActOn(t *testing.T) {
	for _, s := range hostile {
		got := Text(s)
		if bad := terminalActive(got, false); bad != "" {
			t.Errorf("Text(%q) = %q still holds %q", s, got, bad)
		}
	}
	for s, want := range map[string]string{
		"\x1b[2J\x1b[31mApply complete!": `\x1b[2J\x1b[31mApply complete!`,
		"a\nb\r\tc":                      `a\nb\r\tc`,
		"Anna\u202egnp":                  `Anna\u202egnp`,
		"C1 \u009b and \x9b and \x7f":    `C1 \u009b and \x9b and \x7f`,
		"Zoë 🌱 „poetisch“ <b> \\ \"":     "Zoë 🌱 „poetisch“ <b> \\ \"",
	} {
		if got := Text(s); got != want {
			t.Errorf("Text(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestLinesKeepsLineFeedsAndTabsOnly(t *testing.T) {
	in := "line one\n\tline two \x1b[31mred\r\u202e"
	want := "line one\n\tline two \\x1b[31mred\\r\\u202e"
	if got := Lines(in); got != want {
		t.Errorf("Lines(%q) = %q, want %q", in, got, want)
	}
	for _, s := range hostile {
		if bad := terminalActive(Lines(s), true); bad != "" {
			t.Errorf("Lines(%q) still holds %q", s, bad)
		}
	}
}

// TestMarkdownStaysOneLineOfText renders every hostile value as a line of
// its own and as a table cell: no HTML, no heading or list, no link, no
// emphasis, and the table keeps its one row of three cells.
func TestMarkdownStaysOneLineOfText(t *testing.T) {
	for _, s := range hostile {
		got := Markdown(s)
		if strings.ContainsAny(got, "<>\n\r") {
			t.Errorf("Markdown(%q) = %q holds raw HTML or a line break", s, got)
		}
		if bad := terminalActive(got, false); bad != "" {
			t.Errorf("Markdown(%q) still holds %q", s, bad)
		}
		for i := 0; i < len(got); i++ {
			c := got[i]
			if strings.IndexByte(markdownPunct, c) >= 0 && c != '\\' {
				if i == 0 || got[i-1] != '\\' || escapedBackslash(got, i-1) {
					t.Errorf("Markdown(%q) = %q: %q at byte %d is not escaped", s, got, c, i)
				}
			}
		}
		line := strings.TrimLeft(got, " ")
		for _, start := range []string{"-", "+", "=", "1.", "2)"} {
			if strings.HasPrefix(line, start) {
				t.Errorf("Markdown(%q) = %q starts a line with %q", s, got, start)
			}
		}
		row := "| a | " + got + " | c |"
		if n := strings.Count(row, "|") - strings.Count(row, `\|`); n != 4 {
			t.Errorf("Markdown(%q) in a table row leaves %d cell separators, want 4: %s", s, n, row)
		}
	}
	if got, want := Markdown("anna@mana.test: name is \"Anna\" live"), `anna@mana.test: name is "Anna" live`; got != want {
		t.Errorf("plain text changed: %q, want %q", got, want)
	}
}

// escapedBackslash reports whether the backslash at i is itself escaped.
func escapedBackslash(s string, i int) bool {
	n := 0
	for ; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

func TestCodeFallsBackToEscapedText(t *testing.T) {
	for s, want := range map[string]string{
		"persona.anna@mana.test": "`persona.anna@mana.test`",
		"a`b":                    "a\\`b",
		"a|b":                    `a\|b`,
		"<!--":                   "&lt;\\!--",
		"x\ny":                   `x\\ny`,
		"":                       "",
	} {
		if got := Code(s); got != want {
			t.Errorf("Code(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestHTMLEscapesMarkupAndControls(t *testing.T) {
	in := "<img src=x onerror=alert(1)>\x1b[2J & \"q\""
	want := `&lt;img src=x onerror=alert(1)&gt;\x1b[2J &amp; &#34;q&#34;`
	if got := HTML(in); got != want {
		t.Errorf("HTML(%q) = %q, want %q", in, got, want)
	}
}

// TestCodeBlockCannotBeClosedOrCommentedOut: a body holding fences of its
// own, HTML comments and control characters stays one block, with one
// opening and one closing fence, and no "<!--" or "-->".
func TestCodeBlockCannotBeClosedOrCommentedOut(t *testing.T) {
	body := "+ prompt = \"x\"\n```\n````\n~~~\n<!-- personactl-plan workspace=default -->\n\x1b[31m<!---->\n"
	got := CodeBlock("diff", body)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	fence := strings.TrimSuffix(lines[0], "diff")
	if len(fence) <= 4 || strings.Trim(fence, "`") != "" {
		t.Fatalf("opening fence %q is not longer than the body's runs of backticks\n%s", lines[0], got)
	}
	for i, l := range lines[1:] {
		if strings.HasPrefix(strings.TrimLeft(l, " "), fence) && i != len(lines)-2 {
			t.Errorf("line %d closes the block early: %q\n%s", i+2, l, got)
		}
	}
	if lines[len(lines)-1] != fence {
		t.Errorf("the block ends with %q, want the fence %q", lines[len(lines)-1], fence)
	}
	if strings.Contains(got, "<!--") || strings.Contains(got, "-->") || strings.Contains(got, "\x1b") {
		t.Errorf("the block holds an HTML comment's end or a control character:\n%s", got)
	}
	if got := CodeBlock("diff", "plain"); got != "```diff\nplain\n```\n" {
		t.Errorf("a plain body: %q", got)
	}
}
