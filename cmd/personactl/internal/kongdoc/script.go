package kongdoc

import (
	"fmt"
	"strings"
)

// Script returns the completion script for shell (bash, zsh or fish) that
// completes program.
//
// The scripts hold no list of commands or flags: on each <TAB> they run
// "program __complete -- WORDS…" (the words typed so far, after "--" so
// that none is read as one of __complete's flags) and offer what it answers.
// The program must therefore have a command named __complete that writes
// WriteAnswer's answer for Complete(its model, WORDS), usually hidden. A
// command or flag added to the model is then completed with no change to
// the script, and a script installed once stays right after an upgrade.
func Script(shell, program string) (string, error) {
	script, ok := map[string]string{"bash": bashScript, "zsh": zshScript, "fish": fishScript}[shell]
	if !ok {
		return "", fmt.Errorf("no completion script for the shell %q: choose bash, zsh or fish", shell)
	}
	return strings.ReplaceAll(script, "{{name}}", program), nil
}

// The scripts. {{name}} is the program's name.

const bashScript = `# bash completion for {{name}}.
# Load it in the current shell:   source <({{name}} completion bash)
# or for every new shell:         {{name}} completion bash > ~/.local/share/bash-completion/completions/{{name}}
_{{name}}_complete() {
    # Readline splits words at "=", ":" and "@" too (COMP_WORDBREAKS): join
    # back what no blank separates, so that {{name}} reads
    # --target=ada@example.com as it was typed.
    local typed=${COMP_LINE:0:COMP_POINT} words=() i w gap at=0
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        gap=${typed:at}
        gap=${gap%%[![:space:]]*}
        if ((i > 0)) && [[ -z $gap ]]; then
            words[${#words[@]}-1]+=$w
        else
            words+=("$w")
        fi
        at=$((at + ${#gap} + ${#w}))
    done
    local cur=${words[${#words[@]}-1]}
    local out
    out=$("${words[0]}" __complete -- "${words[@]:1}" 2>/dev/null) || return 0
    local lines=() line
    mapfile -t lines <<<"$out"
    local directive=${lines[${#lines[@]}-1]}
    unset 'lines[${#lines[@]}-1]'
    # Readline replaces only its own last word, $2: what follows the last
    # "=" or ":" (or the last "@", itself included).
    local prefix=${cur%"$2"}
    COMPREPLY=()
    if [[ $directive == :files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$2")
        return 0
    fi
    for line in "${lines[@]}"; do
        line=${line%%$'\t'*}
        COMPREPLY+=("${line#"$prefix"}")
    done
}
complete -F _{{name}}_complete {{name}}
`

const zshScript = `#compdef {{name}}
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

const fishScript = `# fish completion for {{name}}.
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
