package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// ManCmd writes personactl's man page.
//
// The page is built from the kong model, like --help and completion, so it
// lists every command and flag the binary has; make man writes it to a file.
type ManCmd struct{}

// Run writes the page, in roff, to standard output.
func (c *ManCmd) Run(kctx *kong.Context, s Streams) error {
	info, ok := debug.ReadBuildInfo()
	return writeManPage(s.Out, kctx.Model, readVersion(version, commit, info, ok))
}

// manEnvironment are the variables personactl reads outside its flags.
var manEnvironment = []struct{ name, help string }{
	{"PERSONA_SEED_SECRET", "The secret each persona's password is derived from. Set but empty is an error. Unset, the public development secret is used, and refused against a server that is not on loopback (unless --allow-dev-secret) or with NODE_ENV=production."},
	{"NODE_ENV", "With the value production, the public development seed secret is refused."},
	{"NO_COLOR", "Any value turns colour off, as --no-color does."},
}

// manExitStatus is the spec's contract for exit codes.
var manExitStatus = []struct{ code, help string }{
	{"0", "Success; for plan with --detailed-exitcode, also: no changes."},
	{"1", "An error, a refusal or a crash. A crash is never 2, so a CI job does not read it as drift."},
	{"2", "Only from plan --detailed-exitcode: the plan has changes, including a name that needs --replace (with --refresh-only: drift was found); from drift: something changed outside personactl; from verify: a persona is not ready."},
}

// writeManPage writes app's man page in roff (man(7) macros).
func writeManPage(w io.Writer, app *kong.Application, v buildVersion) error {
	b := bufio.NewWriter(w)
	m := manWriter{b}
	date := ""
	if len(v.CommitTime) >= len("2006-01-02") {
		date = v.CommitTime[:len("2006-01-02")]
	}
	name := app.Name
	m.macro("TH", strings.ToUpper(name), "1", date, name+" "+v.Version, name+" Manual")
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
	seen := map[string]bool{}
	for _, f := range allFlags(app.Node) {
		for _, env := range f.Envs {
			if seen[env] {
				continue
			}
			seen[env] = true
			m.macro("TP")
			m.raw(`.B ` + escape(env))
			m.text("Sets --" + f.Name + ": " + f.Help)
		}
	}
	for _, e := range manEnvironment {
		m.macro("TP")
		m.raw(`.B ` + escape(e.name))
		m.text(e.help)
	}

	m.macro("SH", "EXIT STATUS")
	for _, e := range manExitStatus {
		m.macro("TP")
		m.raw(`.B ` + e.code)
		m.text(e.help)
	}

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
	synopsis := cmd.FullPath()
	if flags := visibleFlags(cmd); len(flags) > 0 {
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
	if flags := visibleFlags(cmd); len(flags) > 0 {
		m.macro("PP")
		m.raw("Flags:")
		m.flags(flags)
	}
	if cmd.Detail != "" {
		m.detail(cmd.Detail, false)
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
		var values []string
		for _, e := range v.EnumSlice() {
			if e != "" {
				values = append(values, e)
			}
		}
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
	var out []*kong.Flag
	for _, f := range n.Flags {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	return out
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

// positionalSummary is an argument in a synopsis: [PLANFILE], EMAIL...
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
