package kongdoc

import (
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/kong"
	"golang.org/x/term"
)

// Help prints a command's --help, as kong.Help takes it: the usage line,
// the help and detailed help, the arguments, the command's own flags, its
// subcommands, and last, under "Global flags:", the flags every command
// takes (the application's).
//
// Every line fits the width (COLUMNS, else the terminal's, else 80) but
// for a word longer than it: text wraps at spaces; a flag's help goes
// under the flag when there is no room beside it; an indented line of the
// detailed help (an example) is continued on the next one, a command with
// a backslash and a comment with "#". Of options, only ValueFormatter is
// read.
func Help(options kong.HelpOptions, ctx *kong.Context) error {
	h := helpWriter{width: helpWidth(ctx.Stdout), format: options.ValueFormatter}
	if h.format == nil {
		h.format = kong.DefaultHelpValueFormatter
	}
	app := ctx.Model
	node := ctx.Selected()
	usage := "Usage: " + app.Name + " " + strings.TrimSpace(app.Summary())
	if node == nil {
		node = app.Node
	} else {
		usage = "Usage: " + app.Name + " " + node.Summary()
	}
	h.wrap("", strings.Repeat(" ", len("Usage: ")), usage)
	if node.Help != "" {
		h.blank()
		h.detail(node.Help)
	}
	if node.Detail != "" {
		h.blank()
		h.detail(node.Detail)
	}
	if len(node.Positional) > 0 {
		var rows [][2]string
		for _, arg := range node.Positional {
			rows = append(rows, [2]string{arg.Summary(), h.format(arg)})
		}
		h.section("Arguments:", rows)
	}
	var own, global []*kong.Flag
	for _, group := range node.AllFlags(true) {
		for _, f := range group {
			if slices.Contains(app.Node.Flags, f) {
				global = append(global, f)
			} else {
				own = append(own, f)
			}
		}
	}
	h.section("Flags:", h.flagRows(own))
	if cmds := node.Leaves(true); len(cmds) > 0 {
		h.blank()
		h.line("Commands:")
		for i, cmd := range cmds {
			if i > 0 {
				h.blank()
			}
			h.wrap("  ", "      ", cmd.Summary())
			if cmd.Help != "" {
				h.wrap("    ", "    ", cmd.Help)
			}
		}
	}
	h.section("Global flags:", h.flagRows(global))
	_, err := io.WriteString(ctx.Stdout, h.b.String())
	return err
}

// flagRows are flags as the help lists them, each with its help:
// "-h, --help", "    --format=FORMAT", "    --[no-]cache" (the long names
// aligned when one of the flags has a short name).
func (h *helpWriter) flagRows(flags []*kong.Flag) [][2]string {
	short := slices.ContainsFunc(flags, func(f *kong.Flag) bool { return f.Short != 0 })
	var rows [][2]string
	for _, f := range flags {
		s := "--" + f.Name
		switch {
		case f.IsBool() && f.Tag.Negatable == "_":
			s = "--[no-]" + f.Name
		case f.IsBool() && f.Tag.Negatable != "":
			s += "/" + f.Tag.Negatable
		case !f.IsBool() && !f.IsCounter():
			s += "=" + f.FormatPlaceHolder()
		}
		switch {
		case f.Short != 0:
			s = "-" + string(f.Short) + ", " + s
		case short:
			s = "    " + s
		}
		rows = append(rows, [2]string{s, h.format(f.Value)})
	}
	return rows
}

// helpWidth is the width help wraps to: COLUMNS, as kong reads it, else
// the terminal's, else 80; never under 20, where nothing can be read.
func helpWidth(out any) int {
	width := 80
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		width = n
	} else if f, ok := out.(*os.File); ok {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			width = n
		}
	}
	return max(width, 20)
}

// helpWriter collects the lines of a help text wrapped to width.
type helpWriter struct {
	width  int
	format kong.HelpValueFormatter
	b      strings.Builder
}

func (h *helpWriter) line(s string) { h.b.WriteString(strings.TrimRight(s, " ") + "\n") }

func (h *helpWriter) blank() { h.b.WriteString("\n") }

func columns(s string) int { return utf8.RuneCountInString(s) }

// wrap writes text's words, first after indent and then after more,
// breaking lines at spaces; a line break in text is kept.
func (h *helpWriter) wrap(indent, more, text string) {
	for para := range strings.SplitSeq(text, "\n") {
		cur := indent
		fresh := true
		for _, word := range strings.Fields(para) {
			if !fresh && columns(cur)+1+columns(word) > h.width {
				h.line(cur)
				cur, fresh = more, true
			}
			if !fresh {
				cur += " "
			}
			cur += word
			fresh = false
		}
		h.line(cur)
		indent = more
	}
}

// detail writes a help text: paragraphs, and indented lines (examples)
// that keep their indentation, a comment continued as a comment and a
// command after a backslash.
func (h *helpWriter) detail(text string) {
	var para []string
	flush := func() {
		if len(para) > 0 {
			h.wrap("", "", strings.Join(para, " "))
			para = nil
		}
	}
	for l := range strings.Lines(strings.Trim(text, "\n")) {
		l = strings.TrimRight(l, " \t\r\n")
		body := strings.TrimLeft(l, " \t")
		indent := l[:len(l)-len(body)]
		switch comment, isComment := strings.CutPrefix(body, "#"); {
		case body == "":
			flush()
			h.blank()
		case indent == "":
			para = append(para, body)
		case isComment:
			flush()
			h.wrap(indent+"# ", indent+"# ", comment)
		default:
			flush()
			h.command(indent, body)
		}
	}
	flush()
}

// command writes a shell command line, continued with " \" and two more
// spaces of indentation where it does not fit; quoted words are not split.
func (h *helpWriter) command(indent, cmd string) {
	words := shellWords(cmd)
	cur := indent + words[0]
	for i, word := range words[1:] {
		room := h.width
		if i < len(words)-2 {
			room -= len(" \\")
		}
		if columns(cur)+1+columns(word) > room {
			h.line(cur + " \\")
			cur = indent + "  " + word
			continue
		}
		cur += " " + word
	}
	h.line(cur)
}

// shellWords splits a command line at the blanks outside quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ' ' || r == '\t':
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}

// section writes a heading and its rows, each a name and its help: side
// by side where the help has room beside the names, else each help under
// its name.
func (h *helpWriter) section(heading string, rows [][2]string) {
	if len(rows) == 0 {
		return
	}
	h.blank()
	h.line(heading)
	const indent, gap, maxLeft, minHelp = 2, 4, 30, 30
	left := 0
	for _, r := range rows {
		if n := columns(r[0]); n <= maxLeft {
			left = max(left, n)
		}
	}
	pad := strings.Repeat(" ", indent+left+gap)
	if h.width-len(pad) < minHelp {
		// One under the other, the names need no aligning.
		for _, r := range rows {
			h.line(strings.Repeat(" ", indent) + strings.TrimLeft(r[0], " "))
			if r[1] != "" {
				h.wrap("      ", "      ", r[1])
			}
		}
		return
	}
	for _, r := range rows {
		name := strings.Repeat(" ", indent) + r[0]
		if columns(r[0]) <= left {
			h.wrap(name+strings.Repeat(" ", len(pad)-columns(name)), pad, r[1])
			continue
		}
		h.line(name)
		if r[1] != "" {
			h.wrap(pad, pad, r[1])
		}
	}
}
