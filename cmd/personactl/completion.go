package main

import (
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// CompletionCmd prints a shell completion script.
//
// The scripts hold no list of commands or flags: on each <TAB> they ask
// the personactl being completed (its hidden __complete command), which
// answers from its own kong model. A command or flag added to the CLI
// struct is completed without touching this file, and a script installed
// once stays right after an upgrade.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell to complete in: bash, zsh or fish."`
}

// Run writes the script for c.Shell.
func (c *CompletionCmd) Run(kctx *kong.Context, s Streams) error {
	name := kctx.Model.Name
	var script string
	switch c.Shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	}
	_, err := io.WriteString(s.Out, strings.ReplaceAll(script, "{{name}}", name))
	return err
}

// CompleteCmd answers the completion scripts: it prints the candidates for
// the last of Words, one a line as "value<TAB>description", then a last
// line that is completeFiles when the shell should offer file paths
// instead, or completeDone.
type CompleteCmd struct {
	Words []string `arg:"" optional:"" help:"The words after the program name; the last is the one being completed."`
}

// The last line of __complete's answer.
const (
	completeDone  = ":done"
	completeFiles = ":files"
)

// Run prints the candidates.
func (c *CompleteCmd) Run(kctx *kong.Context, s Streams) error {
	cands, files := complete(kctx.Model, c.Words)
	var b strings.Builder
	for _, cd := range cands {
		b.WriteString(cd.value)
		if cd.help != "" {
			b.WriteString("\t" + cd.help)
		}
		b.WriteByte('\n')
	}
	if files {
		b.WriteString(completeFiles + "\n")
	} else {
		b.WriteString(completeDone + "\n")
	}
	_, err := io.WriteString(s.Out, b.String())
	return err
}

// candidate is one completion: the text to insert and what it is.
type candidate struct {
	value, help string
}

// complete returns what may replace the last of words (the words after the
// program name), read against the kong model: subcommands, flags, enum
// values; files reports that file paths fit there instead. A "--flag=value"
// word is answered with "--flag=" candidates.
func complete(app *kong.Application, words []string) (cands []candidate, files bool) {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	node := app.Node
	positional := 0
	var pending *kong.Flag // a flag whose value is the next word
	dashdash := false
	for _, w := range words[:len(words)-1] {
		switch {
		case pending != nil:
			pending = nil
		case dashdash:
			positional++
		case w == "--":
			dashdash = true
		case strings.HasPrefix(w, "-") && w != "-":
			name, _, hasValue := strings.Cut(w, "=")
			if f := findFlag(node, name); f != nil && !hasValue && takesValue(f) {
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
		return valueCandidates(pending.Value, "", cur)
	}
	if !dashdash && strings.HasPrefix(cur, "--") {
		if name, value, ok := strings.Cut(cur, "="); ok {
			if f := findFlag(node, name); f != nil && takesValue(f) {
				return valueCandidates(f.Value, name+"=", value)
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
				cands = append(cands, candidate{name, summary(child.Help)})
			}
		}
	}
	if len(node.Children) > 0 {
		return cands, false
	}
	if len(node.Positional) > 0 {
		i := min(positional, len(node.Positional)-1)
		if p := node.Positional[i]; positional < len(node.Positional) || p.IsCumulative() {
			return valueCandidates(p, "", cur)
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
func flagCandidates(node *kong.Node, prefix string) []candidate {
	var cands []candidate
	groups := node.AllFlags(true)
	for i := len(groups) - 1; i >= 0; i-- {
		for _, f := range groups[i] {
			names := []string{"--" + f.Name}
			if f.Tag.Negatable != "" {
				names = append(names, "--"+negatedName(f))
			}
			for _, n := range names {
				if strings.HasPrefix(n, prefix) {
					cands = append(cands, candidate{n, summary(f.Help)})
				}
			}
		}
	}
	return cands
}

// valueCandidates completes the value of v (a flag or a positional) that
// starts with typed: its enum values, or files when v names a path. prefix
// ("--flag=") is put back in front of each value.
func valueCandidates(v *kong.Value, prefix, typed string) ([]candidate, bool) {
	if v.Enum != "" {
		var cands []candidate
		for _, e := range v.EnumSlice() {
			if e != "" && strings.HasPrefix(e, typed) {
				cands = append(cands, candidate{value: prefix + e})
			}
		}
		return cands, false
	}
	return nil, isPath(v)
}

// isPath reports whether v holds a file path: a path type, or a
// placeholder (or argument name) that says PATH or FILE, as --catalog=PATH,
// --out=FILE and PLANFILE do.
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

// The scripts. {{name}} is the program's name. Each sends the words typed
// so far after "--", so that none is read as one of __complete's flags.

const bashCompletion = `# bash completion for {{name}}.
# Load it in the current shell:   source <({{name}} completion bash)
# or for every new shell:         {{name}} completion bash > ~/.local/share/bash-completion/completions/{{name}}
_{{name}}_complete() {
    local words=() i w joined=0
    # Readline splits --flag=value at "="; join it back so that {{name}}
    # sees the flag.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == "=" && ${#words[@]} -gt 0 && ${words[${#words[@]}-1]} == --* ]]; then
            words[${#words[@]}-1]+="="
            joined=1
            continue
        fi
        if ((joined)); then
            words[${#words[@]}-1]+=$w
            joined=0
            continue
        fi
        words+=("$w")
    done
    local cur=${words[${#words[@]}-1]}
    local out
    out=$("${COMP_WORDS[0]}" __complete -- "${words[@]}" 2>/dev/null) || return 0
    local lines=() line
    mapfile -t lines <<<"$out"
    local directive=${lines[${#lines[@]}-1]}
    unset 'lines[${#lines[@]}-1]'
    # Readline replaces only what follows the "=" of --flag=value.
    local prefix=
    [[ $cur == --*=* ]] && prefix=${cur%%=*}=
    COMPREPLY=()
    if [[ $directive == :files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "${cur#"$prefix"}")
        return 0
    fi
    for line in "${lines[@]}"; do
        line=${line%%$'\t'*}
        COMPREPLY+=("${line#"$prefix"}")
    done
}
complete -F _{{name}}_complete {{name}}
`

const zshCompletion = `#compdef {{name}}
# zsh completion for {{name}}.
# Load it in the current shell:   source <({{name}} completion zsh)
# or for every new shell, save it as _{{name}} in a directory of $fpath:
#                                 {{name}} completion zsh > "${fpath[1]}/_{{name}}"
# (compinit must be loaded; oh-my-zsh and most setups do that).
_{{name}}() {
    local out directive line
    local -a lines cands descs
    out=$("${words[1]}" __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    directive=${lines[-1]}
    lines=("${(@)lines[1,-2]}")
    if [[ $directive == :files ]]; then
        [[ ${words[CURRENT]} == --*=* ]] && compset -P '*='
        _files
        return
    fi
    for line in "${lines[@]}"; do
        cands+=("${line%%$'\t'*}")
        if [[ $line == *$'\t'* ]]; then
            descs+=("${line%%$'\t'*}  -- ${line#*$'\t'}")
        else
            descs+=("${line}")
        fi
    done
    (( ${#cands} )) || return 1
    compadd -l -d descs -a cands
}
if [[ "$funcstack[1]" == "_{{name}}" ]]; then
    _{{name}} "$@"
elif (( $+functions[compdef] )); then
    compdef _{{name}} {{name}}
else
    print -u2 "{{name}} completion: run 'autoload -U compinit && compinit' before loading this script"
fi
`

const fishCompletion = `# fish completion for {{name}}.
# Load it in the current shell:   {{name}} completion fish | source
# or for every new shell:         {{name}} completion fish > ~/.config/fish/completions/{{name}}.fish
function __{{name}}_complete
    set -l args (commandline -opc)
    set -l cmd $args[1]
    set -e args[1]
    set -l token (commandline -ct)
    set -l out ($cmd __complete -- $args $token 2>/dev/null)
    or return
    set -l directive $out[-1]
    set -e out[-1]
    if test "$directive" = :files
        set -l prefix ''
        if string match -qr -- '^--[^=]*=' $token
            set prefix (string replace -r -- '=.*' '=' $token)
            set token (string replace -r -- '^[^=]*=' '' $token)
        end
        for path in (__fish_complete_path $token)
            printf '%s%s\n' $prefix $path
        end
        return
    end
    printf '%s\n' $out
end
complete -c {{name}} -f -a '(__{{name}}_complete)'
`
