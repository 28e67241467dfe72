// Package neutral shows text that personactl did not write (a server's
// message, a live persona's address or name, a catalog value) so that it
// can only be read, never act. On a terminal it cannot move the cursor,
// recolour or clear the screen, start a line of its own, or reorder the
// text around it; in Markdown it cannot start a heading, a table cell, a
// link, an image, raw HTML or an HTML comment.
//
// Such text passes through here where it enters a message or a view,
// never personactl's own words, line breaks and colours: each function
// says for which place its result is fit.
package neutral

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text is s fit for one line of a terminal: every character that acts on
// a terminal or hides what a person reads is written as an escape (\x1b,
// \n, \u202e): C0 controls (line breaks and tabs too, so that one value
// stays on its line), DEL, C1 controls, bidirectional formatting
// characters and the line and paragraph separators; so is each byte that
// is not UTF-8 (a lone 0x9b is a control sequence introducer to some
// terminals). Everything else is kept as it is.
func Text(s string) string { return escape(s, false) }

// Lines is Text for a message that personactl wrote and that may quote
// text from outside: its line feeds and tabs are kept, every other
// control character is escaped. It is the last guard before an error
// reaches the terminal; a value from outside should have passed through
// Text already, so that its own line breaks show as \n.
func Lines(s string) string { return escape(s, true) }

func escape(s string, keepLines bool) string {
	var b *strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		esc := ""
		switch {
		case r == utf8.RuneError && size == 1:
			esc = fmt.Sprintf(`\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
		case hidden(r):
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u202e'
			esc = q[1 : len(q)-1]
		}
		if esc != "" && b == nil {
			b = &strings.Builder{}
			b.Grow(len(s) + 8)
			b.WriteString(s[:i])
		}
		if b != nil {
			if esc != "" {
				b.WriteString(esc)
			} else {
				b.WriteString(s[i : i+size])
			}
		}
		i += size
	}
	if b == nil {
		return s
	}
	return b.String()
}

// hidden reports whether r acts on a terminal, breaks a line or reorders
// the text around it: the characters the catalog refuses in a name, and
// the line and paragraph separators.
func hidden(r rune) bool {
	switch {
	case r < 0x20, r == 0x7F, 0x80 <= r && r <= 0x9F: // C0, DEL, C1
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, 0x202A <= r && r <= 0x202E, 0x2066 <= r && r <= 0x2069: // bidi
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// markdownPunct are the characters that start Markdown syntax wherever
// they stand: a backslash escape, code, emphasis, a link or an image, a
// table cell, strikethrough, math, a heading.
const markdownPunct = "\\`*_[]|!~$#"

// Markdown is s fit for Markdown outside code, on one line: Text's
// escapes, "<", ">" and "&" as entities (so no raw HTML, no HTML comment
// and no entity of s's own), a backslash before every character that
// could start Markdown syntax, and, where s may start a line, before a
// list, rule or setext marker.
func Markdown(s string) string {
	s = Text(s)
	lead := len(s) - len(strings.TrimLeft(s, " "))
	startMark := -1 // a character that would start a list or a rule on a line of its own
	if lead < len(s) && strings.IndexByte("-+=", s[lead]) >= 0 {
		startMark = lead
	} else {
		j := lead
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		if j > lead && j < len(s) && (s[j] == '.' || s[j] == ')') {
			startMark = j // "1." or "1)": an ordered list
		}
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case i == startMark || strings.IndexByte(markdownPunct, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Code is s as inline Markdown code when a code span can hold it as it is
// (an address, a workspace name), and otherwise Markdown(s): a backtick
// would end the span, "|" a table cell, and "<" or ">" would put an HTML
// comment's ends in the comment's text.
func Code(s string) string {
	if s == "" || s != Text(s) || strings.ContainsAny(s, "`|<>&") || s[0] == ' ' || s[len(s)-1] == ' ' {
		return Markdown(s)
	}
	return "`" + s + "`"
}

// HTML is s fit for the text of an HTML element in Markdown (where
// Markdown's own escapes do not work): Text's escapes, and the characters
// HTML gives a meaning to as entities.
func HTML(s string) string { return html.EscapeString(Text(s)) }

// CodeBlock is body as a fenced Markdown code block with the info string
// info ("diff"). The fence is longer than any run of backticks in body, so
// that no line of body can close the block; control characters but line
// feeds and tabs are escaped as Lines does; and "<!--" and "-->" are
// written with an escape (\u003c, \u003e), so that the text holds no HTML
// comment's start or end but those personactl writes itself.
func CodeBlock(info, body string) string {
	body = Lines(body)
	body = strings.ReplaceAll(body, "<!--", `\u003c!--`)
	body = strings.ReplaceAll(body, "-->", `--\u003e`)
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	return fence + info + "\n" + body + fence + "\n"
}
