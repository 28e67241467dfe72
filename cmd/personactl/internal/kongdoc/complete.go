package kongdoc

import (
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// Candidate is one completion: the text to insert and, for the shells that
// show one beside it, what it is.
type Candidate struct {
	Value, Help string
}

// The last line of an answer to the scripts: AnswerFiles when the shell
// should offer file paths instead of the candidates, else AnswerDone.
const (
	AnswerDone  = ":done"
	AnswerFiles = ":files"
)

// WriteAnswer writes what the scripts read from the program's __complete
// command: one candidate a line, as "value<TAB>help" (or just "value"),
// then AnswerFiles or AnswerDone.
func WriteAnswer(w io.Writer, cands []Candidate, files bool) error {
	var b strings.Builder
	for _, cd := range cands {
		b.WriteString(strings.TrimSuffix(cd.Value+"\t"+cd.Help, "\t") + "\n")
	}
	last := AnswerDone
	if files {
		last = AnswerFiles
	}
	_, err := io.WriteString(w, b.String()+last+"\n")
	return err
}

// A Predictor lists the values a flag or an argument tagged
// predictor:"NAME" may take, the program's own data (names it keeps,
// entries of a file). flags are the values the words being completed give
// to flags, by flag name, so that it reads what the command would. It runs
// on a <TAB>, so it must be quick and must not print.
type Predictor func(flags map[string]string) []string

// Complete returns what may replace the last of words (the words after the
// program name), read against the kong model: subcommands, flags, enum
// values, the values predictors list for a value tagged predictor:"NAME";
// files reports that file paths fit there instead. A "--flag=value" word
// is answered with "--flag=" candidates.
func Complete(app *kong.Application, words []string, predictors map[string]Predictor) (cands []Candidate, files bool) {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	node := app.Node
	positional := 0
	var pending *kong.Flag // a flag whose value is the next word
	dashdash := false
	flags := map[string]string{}
	predict := func(name string) []string {
		if p := predictors[name]; p != nil {
			return p(flags)
		}
		return nil
	}
	for _, w := range words[:len(words)-1] {
		switch {
		case pending != nil:
			flags[pending.Name] = w
			pending = nil
		case dashdash:
			positional++
		case w == "--":
			dashdash = true
		case strings.HasPrefix(w, "-") && w != "-":
			name, value, hasValue := strings.Cut(w, "=")
			switch f := findFlag(node, name); {
			case f == nil || !takesValue(f):
			case hasValue:
				flags[f.Name] = value
			default:
				pending = f
			}
		default:
			if child := findChild(node, w); child != nil {
				node, positional = child, 0
			} else {
				positional++
			}
		}
	}

	if pending != nil {
		return valueCandidates(pending.Value, "", cur, predict)
	}
	if !dashdash && strings.HasPrefix(cur, "--") {
		if name, value, ok := strings.Cut(cur, "="); ok {
			if f := findFlag(node, name); f != nil && takesValue(f) {
				return valueCandidates(f.Value, name+"=", value, predict)
			}
			return nil, false
		}
	}
	if !dashdash && strings.HasPrefix(cur, "-") {
		return flagCandidates(node, cur), false
	}
	for _, child := range node.Children {
		if child.Hidden || child.Type != kong.CommandNode {
			continue
		}
		for _, name := range append([]string{child.Name}, child.Aliases...) {
			if strings.HasPrefix(name, cur) {
				cands = append(cands, Candidate{name, summary(child.Help)})
			}
		}
	}
	if len(node.Children) > 0 {
		return cands, false
	}
	if len(node.Positional) > 0 {
		i := min(positional, len(node.Positional)-1)
		if p := node.Positional[i]; positional < len(node.Positional) || p.IsCumulative() {
			return valueCandidates(p, "", cur, predict)
		}
	}
	// Nothing positional is left: what remains to type are flags.
	return flagCandidates(node, cur), false
}

// findChild returns node's subcommand called name (or one of its aliases).
func findChild(node *kong.Node, name string) *kong.Node {
	for _, child := range node.Children {
		if child.Type == kong.CommandNode && (child.Name == name || slices.Contains(child.Aliases, name)) {
			return child
		}
	}
	return nil
}

// findFlag returns the flag that arg ("--name", "--no-name", "-x") names
// on node or one of its parents, hidden ones included.
func findFlag(node *kong.Node, arg string) *kong.Flag {
	for _, group := range node.AllFlags(false) {
		for _, f := range group {
			switch {
			case arg == "--"+f.Name, slices.Contains(f.Aliases, strings.TrimPrefix(arg, "--")):
				return f
			case f.Tag.Negatable != "" && arg == "--"+negatedName(f):
				return f
			case f.Short != 0 && arg == "-"+string(f.Short):
				return f
			}
		}
	}
	return nil
}

func negatedName(f *kong.Flag) string {
	if f.Tag.Negatable == "_" {
		return "no-" + f.Name
	}
	return f.Tag.Negatable
}

// takesValue reports whether f reads the next word (or what follows "=").
func takesValue(f *kong.Flag) bool {
	return !f.IsBool() && !f.IsCounter()
}

// flagCandidates are the visible flags of node and its parents that start
// with prefix, the command's own first.
func flagCandidates(node *kong.Node, prefix string) []Candidate {
	var cands []Candidate
	groups := node.AllFlags(true)
	for i := len(groups) - 1; i >= 0; i-- {
		for _, f := range groups[i] {
			names := []string{"--" + f.Name}
			if f.Tag.Negatable != "" {
				names = append(names, "--"+negatedName(f))
			}
			for _, n := range names {
				if strings.HasPrefix(n, prefix) {
					cands = append(cands, Candidate{n, summary(f.Help)})
				}
			}
		}
	}
	return cands
}

// valueCandidates completes the value of v (a flag or a positional) that
// starts with typed: its enum values, the values predict lists for its
// predictor tag, or files when v names a path. prefix ("--flag=") is put
// back in front of each value.
func valueCandidates(v *kong.Value, prefix, typed string, predict func(name string) []string) ([]Candidate, bool) {
	var values []string
	switch {
	case v.Enum != "":
		values = v.EnumSlice()
	case v.Tag.Has("predictor"):
		values = predict(v.Tag.Get("predictor"))
	default:
		return nil, isPath(v)
	}
	var cands []Candidate
	for _, e := range values {
		// A line break in a predicted value would end the answer's line.
		if e != "" && strings.HasPrefix(e, typed) && !strings.ContainsAny(e, "\t\r\n") {
			cands = append(cands, Candidate{Value: prefix + e})
		}
	}
	return cands, false
}

// isPath reports whether v holds a file path: a path type, or a
// placeholder (or argument name) that says PATH or FILE, as --config=PATH,
// --out=FILE or an argument named PLANFILE do.
func isPath(v *kong.Value) bool {
	switch v.Tag.Type {
	case "path", "existingfile", "existingdir", "filecontent":
		return true
	}
	hint := v.Name
	if v.Tag.PlaceHolder != "" {
		hint = v.Tag.PlaceHolder
	}
	hint = strings.ToUpper(hint)
	return strings.Contains(hint, "PATH") || strings.Contains(hint, "FILE")
}

// summary is the first sentence of a help text, for the shells that show
// a description beside each candidate.
func summary(help string) string {
	help, _, _ = strings.Cut(help, "\n")
	if i := strings.Index(help, ". "); i >= 0 {
		help = help[:i]
	}
	return strings.TrimSuffix(help, ".")
}
