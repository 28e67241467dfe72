package kongdoc

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
)

// SetDetails gives the commands of a kong model their detailed help (what
// --help prints under the one-line help, and the man page under each
// command) from text: sections, each opened by a line "== PATH", PATH being
// the command's full path ("personactl state rm"). A section that names no
// command of the model, or one given twice, is an error, so that a renamed
// command cannot silently lose its help.
func SetDetails(root *kong.Node, text string) error {
	nodes := map[string]*kong.Node{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		nodes[n.FullPath()] = n
		for _, c := range n.Children {
			if c.Type == kong.CommandNode {
				walk(c)
			}
		}
	}
	walk(root)
	seen := map[string]bool{}
	for section := range strings.SplitSeq("\n"+text, "\n== ") {
		if strings.TrimSpace(section) == "" {
			continue
		}
		path, body, _ := strings.Cut(section, "\n")
		path = strings.TrimSpace(path)
		n := nodes[path]
		switch {
		case n == nil:
			return fmt.Errorf("help text for %q, which is not a command", path)
		case seen[path]:
			return fmt.Errorf("help text for %q given twice", path)
		}
		seen[path] = true
		n.Detail = strings.TrimSpace(body)
	}
	return nil
}
