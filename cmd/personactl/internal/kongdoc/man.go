package kongdoc

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// ManPage is what a man page says that the kong model does not.
type ManPage struct {
	// Version is the program's version; the page's footer shows it after
	// the program's name.
	Version string
	// Date is the day Version was made, as 2006-01-02, or empty.
	Date string
	// Environment are the variables the program reads outside its flags;
	// ENVIRONMENT lists them after those that set a flag (the flags' env
	// tags), which the model tells.
	Environment []ManEntry
	// ExitStatus are the program's exit codes and what each means.
	ExitStatus []ManEntry
}

// ManEntry is one tagged paragraph: a name in bold (a variable, an exit
// code) and what it means.
type ManEntry struct {
	Name, Help string
}

// WriteManPage writes app's man page to w, in roff (man(7) macros): NAME,
// SYNOPSIS, DESCRIPTION, GLOBAL FLAGS, COMMANDS (each visible command with
// its arguments, flags and Help() text), ENVIRONMENT, EXIT STATUS and, when
// the application has a Help() text, EXAMPLES. Hidden commands and flags
// are left out.
func WriteManPage(w io.Writer, app *kong.Application, page ManPage) error {
	b := bufio.NewWriter(w)
	m := manWriter{b}
	name := app.Name
	m.macro("TH", strings.ToUpper(name), "1", page.Date, name+" "+page.Version, name+" Manual")
	// Flag names and environment variables must not be hyphenated.
	m.raw(".nh")
	m.raw(".ad l")

	m.macro("SH", "NAME")
	m.text(name + " - " + strings.TrimSuffix(app.Help, "."))

	m.macro("SH", "SYNOPSIS")
	m.raw(`.B ` + escape(name))
	m.raw(`[\fIflags\fR] \fIcommand\fR [\fIflags\fR] [\fIarguments\fR]`)

	m.macro("SH", "DESCRIPTION")
	m.text(app.Help)
	m.text("Each command below takes the global flags as well; " + name + " COMMAND --help shows a command's flags and examples.")

	m.macro("SH", "GLOBAL FLAGS")
	m.flags(visibleFlags(app.Node))
	if app.HelpFlag != nil && !slices.Contains(app.Node.Flags, app.HelpFlag) {
		m.flags([]*kong.Flag{app.HelpFlag})
	}

	m.macro("SH", "COMMANDS")
	for _, cmd := range visibleCommands(app.Node) {
		m.command(cmd)
	}

	m.macro("SH", "ENVIRONMENT")
	var env []ManEntry // the flags' first, each once
	for _, f := range allFlags(app.Node) {
		for _, e := range f.Envs {
			if !slices.ContainsFunc(env, func(have ManEntry) bool { return have.Name == e }) {
				env = append(env, ManEntry{e, "Sets --" + f.Name + ": " + f.Help})
			}
		}
	}
	m.entries(append(env, page.Environment...))

	m.macro("SH", "EXIT STATUS")
	m.entries(page.ExitStatus)

	if app.Detail != "" {
		m.macro("SH", "EXAMPLES")
		m.detail(app.Detail, true)
	}
	return b.Flush()
}

type manWriter struct{ w *bufio.Writer }

// raw writes one line of roff as it is.
func (m manWriter) raw(line string) { m.w.WriteString(line + "\n") }

// macro writes a request with quoted arguments.
func (m manWriter) macro(name string, args ...string) {
	line := "." + name
	for _, a := range args {
		line += ` "` + strings.ReplaceAll(escape(a), `"`, `\(dq`) + `"`
	}
	m.raw(line)
}

// text writes a paragraph's words, escaped, one input line per text line.
func (m manWriter) text(s string) {
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m.raw(escapeLine(line))
		}
	}
}

// command writes a command's section: synopsis, help, arguments, its own
// flags and its examples.
func (m manWriter) command(cmd *kong.Node) {
	synopsis, flags := cmd.FullPath(), visibleFlags(cmd)
	if len(flags) > 0 {
		synopsis += " [flags]"
	}
	for _, p := range cmd.Positional {
		synopsis += " " + positionalSummary(p)
	}
	if len(visibleCommands(cmd)) > 0 {
		synopsis += " command"
	}
	m.macro("SS", synopsis)
	m.text(cmd.Help)
	if len(cmd.Positional) > 0 {
		m.macro("PP")
		m.raw("Arguments:")
		for _, p := range cmd.Positional {
			m.macro("TP")
			m.raw(`\fI` + escape(positionalName(p)) + `\fR`)
			m.text(p.Help + valueNotes(p))
		}
	}
	if len(flags) > 0 {
		m.macro("PP")
		m.raw("Flags:")
		m.flags(flags)
	}
	if cmd.Detail != "" {
		m.detail(cmd.Detail, false)
	}
}

// entries writes a tagged paragraph per entry.
func (m manWriter) entries(entries []ManEntry) {
	for _, e := range entries {
		m.macro("TP")
		m.raw(`.B ` + escape(e.Name))
		m.text(e.Help)
	}
}

// flags writes a tagged paragraph per flag.
func (m manWriter) flags(flags []*kong.Flag) {
	for _, f := range flags {
		m.macro("TP")
		head := `\fB\-\-` + escape(f.Name) + `\fR`
		if f.Short != 0 {
			head = `\fB\-` + escape(string(f.Short)) + `\fR, ` + head
		}
		if takesValue(f) {
			head += `=\fI` + escape(f.FormatPlaceHolder()) + `\fR`
		}
		m.raw(head)
		notes := valueNotes(f.Value)
		if len(f.Envs) > 0 {
			notes += " Environment: " + strings.Join(f.Envs, ", ") + "."
		}
		m.text(f.Help + notes)
	}
}

// valueNotes are the allowed values and the default of v, as --help says.
func valueNotes(v *kong.Value) string {
	var notes string
	if v.Enum != "" {
		values := slices.DeleteFunc(v.EnumSlice(), func(e string) bool { return e == "" })
		notes += " One of: " + strings.Join(values, ", ") + "."
	}
	if v.HasDefault && v.Default != "" && (v.Flag == nil || !v.IsBool()) {
		notes += " Default: " + v.Default + "."
	}
	return notes
}

// detail writes a Help() text: indented lines (the examples) as a block
// kept as it is, others as text. As the section of its own a heading
// ("Examples:") is dropped.
func (m manWriter) detail(s string, ownSection bool) {
	inCode := false
	for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			if inCode {
				m.raw("")
			}
		case indented:
			if !inCode {
				m.macro("PP")
				m.macro("RS", "4")
				m.macro("nf")
				inCode = true
			}
			m.raw(escapeLine(trimmed))
		default:
			if inCode {
				m.macro("fi")
				m.macro("RE")
				inCode = false
			}
			if ownSection && trimmed == "Examples:" {
				continue
			}
			m.macro("PP")
			m.raw(escapeLine(trimmed))
		}
	}
	if inCode {
		m.macro("fi")
		m.macro("RE")
	}
}

// visibleCommands are n's subcommands, depth first, hidden ones left out.
func visibleCommands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, c := range n.Children {
		if c.Type != kong.CommandNode || c.Hidden {
			continue
		}
		out = append(out, c)
		out = append(out, visibleCommands(c)...)
	}
	return out
}

// visibleFlags are n's own flags, hidden ones left out.
func visibleFlags(n *kong.Node) []*kong.Flag {
	return slices.DeleteFunc(slices.Clone(n.Flags), func(f *kong.Flag) bool { return f.Hidden })
}

// allFlags are the visible flags of n and of every visible command under
// it, each once.
func allFlags(n *kong.Node) []*kong.Flag {
	out := visibleFlags(n)
	for _, c := range visibleCommands(n) {
		for _, f := range visibleFlags(c) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// positionalName is how --help names an argument: its placeholder, or its
// name in capitals.
func positionalName(p *kong.Positional) string {
	if p.Tag.PlaceHolder != "" {
		return p.Tag.PlaceHolder
	}
	return strings.ToUpper(p.Name)
}

// positionalSummary is an argument in a synopsis: [FILE], NAME...
func positionalSummary(p *kong.Positional) string {
	s := positionalName(p)
	if p.IsCumulative() {
		s += "..."
	}
	if !p.Required {
		s = "[" + s + "]"
	}
	return s
}

// escape makes s safe as roff text: backslashes, dashes (so that options
// copy as ASCII hyphens) and characters outside ASCII, which troff reads
// only as named glyphs.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeLine escapes a whole input line: a leading "." or "'" would be
// read as a request.
func escapeLine(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
