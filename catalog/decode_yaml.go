package catalog

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// aliasAllowance is how many values YAML aliases may expand to beyond the
// number of values the file writes out. Reusing a moduleMix through an alias
// in every persona stays far below it; a "billion laughs" file, a few lines of
// aliases of aliases that expand to billions of values, runs out at once.
const aliasAllowance = 10_000

// decodeYAML reads one YAML document into a tree. A syntax error, a second
// document or runaway aliases end the reading, and the tree is then invalid;
// keys that are not strings and unsupported tags are reported and skipped.
func decodeYAML(file string, data []byte) (node, []Diagnostic) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // nothing but comments
			return node{}, []Diagnostic{emptyFile(file)}
		}
		return node{}, []Diagnostic{yamlSyntaxError(file, data, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return node{}, []Diagnostic{yamlSyntaxError(file, data, err)}
	default:
		return node{}, []Diagnostic{{
			Severity: SeverityError, File: file, Line: extra.Line, Col: extra.Column,
			Message: "a second YAML document starts here; a catalog is one document: remove this --- and what follows, or move it to a file of its own",
		}}
	}
	if len(doc.Content) == 0 {
		return node{}, []Diagnostic{emptyFile(file)}
	}
	c := yamlConverter{file: file, budget: aliasAllowance + countYAMLNodes(&doc)}
	root := c.convert(doc.Content[0], 0, nil)
	if c.fatal {
		return node{}, c.diags
	}
	return root, c.diags
}

// yamlParserProblems are the messages of yaml.v3's parser errors, as opposed
// to its scanner's. For these, yaml.v3 names the line where the enclosing
// mapping or list starts, counted from 0, and the mistake may be on any line
// of it.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlSyntaxError turns a yaml.v3 error, which names a line at best and never
// a column, into a diagnostic for that line.
func yamlSyntaxError(file string, data []byte, err error) Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	hint := "check the indentation and quoting on this line"
	col := 0
	switch {
	case slices.Contains(yamlParserProblems, msg):
		// No line at all means line 0, counted from 0. A problem at the end of
		// the file can be placed one line past it.
		line = min(line+1, bytes.Count(data, []byte("\n"))+1)
		hint = "check the indentation and quoting of the mapping or list that starts on this line"
		if bad, c, ok := misindented(data, line); ok {
			hint = fmt.Sprintf("line %d is indented to a depth no line above it opens; indent it like its siblings", bad)
			line, col = bad, c
		}
	case bytes.HasPrefix(lineOf(data, line), []byte("\t")):
		hint = "YAML indents with spaces, never tabs"
	}
	return Diagnostic{Severity: SeverityError, File: file, Line: line, Col: col, Message: "invalid YAML: " + msg + "; " + hint}
}

// misindented looks, from line start on, for the first line whose
// indentation matches no level opened above it: yaml.v3 names only the line
// where the enclosing mapping or list starts. It returns the line and the
// column of its first character. Lines inside block scalars (| and >) and
// comments are passed over.
func misindented(data []byte, start int) (line, col int, ok bool) {
	var levels []int
	opens := false    // the line before ends with ":" and opens a deeper level
	scalarAbove := -1 // indentation of a line opening a block scalar
	for n, text := range strings.Split(string(data), "\n") {
		n++
		trimmed := strings.TrimLeft(text, " ")
		if n < start || trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(text) - len(trimmed)
		if scalarAbove >= 0 {
			if indent > scalarAbove {
				continue
			}
			scalarAbove = -1
		}
		for len(levels) > 0 && levels[len(levels)-1] > indent {
			levels = levels[:len(levels)-1]
		}
		if len(levels) > 0 && levels[len(levels)-1] < indent && !opens {
			return n, indent + 1, true
		}
		if len(levels) == 0 || levels[len(levels)-1] < indent {
			levels = append(levels, indent)
		}
		content := strings.TrimRight(trimmed, " ")
		if rest, isItem := strings.CutPrefix(content, "- "); isItem {
			levels = append(levels, indent+2) // the item's own keys
			content = rest
		}
		opens = strings.HasSuffix(content, ":")
		if strings.HasSuffix(content, "|") || strings.HasSuffix(content, ">") || strings.HasSuffix(content, "|-") || strings.HasSuffix(content, ">-") {
			scalarAbove = indent
		}
	}
	return 0, 0, false
}

// lineOf returns line n of data, counted from 1, or nil.
func lineOf(data []byte, n int) []byte {
	if lines := bytes.Split(data, []byte("\n")); n >= 1 && n <= len(lines) {
		return lines[n-1]
	}
	return nil
}

// countYAMLNodes counts the values a YAML document writes out, each alias as one.
func countYAMLNodes(n *yaml.Node) int {
	count := 1
	for _, c := range n.Content {
		count += countYAMLNodes(c)
	}
	return count
}

// yamlConverter builds a tree from a yaml.v3 node, expanding aliases and
// merge keys so that the validator sees what the YAML means.
type yamlConverter struct {
	file string
	// budget is how many more values aliases may expand to.
	budget int
	diags  []Diagnostic
	// fatal is set once the tree cannot be used: too deep, or too many aliases.
	fatal bool
	// aliasesReported is set once running out of budget has been reported.
	aliasesReported bool
}

func (c *yamlConverter) errorAt(p position, msg string) {
	c.diags = append(c.diags, Diagnostic{Severity: SeverityError, File: c.file, Line: p.line, Col: p.col, Message: msg})
}

// convert returns n as a tree node. alias is where the alias n is reached
// through is used, or nil: everything an alias expands to is located there,
// in the persona that uses it, and spends the alias budget.
func (c *yamlConverter) convert(n *yaml.Node, depth int, alias *position) node {
	if c.fatal {
		return node{}
	}
	p := c.at(n)
	if alias != nil {
		p = *alias
		if c.budget--; c.budget < 0 {
			c.fatal = true
			return node{}
		}
	}
	if depth == maxDepth && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) {
		c.errorAt(p, tooDeep)
		c.fatal = true
		return node{}
	}
	switch n.Kind {
	case yaml.AliasNode:
		v := c.convert(n.Alias, depth, cmp.Or(alias, &p))
		if c.budget < 0 && !c.aliasesReported {
			c.aliasesReported = true
			c.errorAt(p, fmt.Sprintf("YAML aliases in this file expand to more than %d values beyond what it writes out; write the repeated values out instead of nesting aliases", aliasAllowance))
		}
		return v
	case yaml.ScalarNode:
		return c.scalar(n, p)
	case yaml.SequenceNode:
		out := node{kind: kindArray, pos: p, items: make([]node, 0, len(n.Content))}
		for _, item := range n.Content {
			out.items = append(out.items, c.convert(item, depth+1, alias))
		}
		return out
	case yaml.MappingNode:
		return c.mapping(n, p, depth, alias)
	}
	c.errorAt(p, "unexpected YAML document inside a document")
	return node{}
}

// at is where n starts in the file.
func (c *yamlConverter) at(n *yaml.Node) position {
	return position{n.Line, n.Column}
}

// yamlLit says how the scalar n, found at p, is written in the file.
func (c *yamlConverter) yamlLit(n *yaml.Node, p position) litStyle {
	switch {
	case p != c.at(n): // reached through an alias
		return litUnknown
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return litYAMLDouble
	}
	return litYAMLRaw
}

func (c *yamlConverter) scalar(n *yaml.Node, p position) node {
	switch n.ShortTag() {
	case "!!str", "!!timestamp": // a date is text in JSON, so it is here too
		if n.Style == 0 { // plain: neither quoted nor tagged
			// yaml.v3 reads a plain number too large for a float64 (1e400) as
			// text; the person wrote a number, so report it as one.
			if f, err := strconv.ParseFloat(n.Value, 64); errors.Is(err, strconv.ErrRange) {
				return node{kind: kindNumber, pos: p, text: n.Value, number: f}
			}
		}
		return node{kind: kindString, lit: c.yamlLit(n, p), pos: p, text: n.Value}
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			// YAML spellings Go does not parse: .inf, .nan, 0x1F, 0o17.
			if err := n.Decode(&f); err != nil {
				c.errorAt(p, fmt.Sprintf("cannot read %q as a number; write it as a decimal number", n.Value))
				return node{}
			}
		}
		return node{kind: kindNumber, pos: p, text: n.Value, number: f}
	case "!!bool":
		return node{kind: kindBool, pos: p, text: n.Value}
	case "!!null":
		return node{kind: kindNull, pos: p, text: "null"}
	}
	c.errorAt(p, fmt.Sprintf("the YAML tag %s is not supported in a catalog; remove it", n.Tag))
	return node{}
}

func (c *yamlConverter) mapping(n *yaml.Node, p position, depth int, alias *position) node {
	out := node{kind: kindObject, pos: p, fields: make([]field, 0, len(n.Content)/2)}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		keyPos := c.at(k)
		if alias != nil {
			keyPos = *alias
		}
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!timestamp") {
			c.errorAt(keyPos, yamlKeyProblem(k))
			continue
		}
		out.fields = append(out.fields, field{key: k.Value, keyPos: keyPos, keyLit: c.yamlLit(k, keyPos), value: c.convert(v, depth+1, alias)})
	}
	if len(merges) > 0 {
		c.merge(&out, merges, depth, alias)
	}
	return out
}

// merge adds the members of the mappings named by merge keys (<<: *defaults)
// that out does not set itself; earlier mappings win over later ones, as YAML's
// merge key specifies.
func (c *yamlConverter) merge(out *node, merges []*yaml.Node, depth int, alias *position) {
	set := make(map[string]bool, len(out.fields))
	for _, f := range out.fields {
		set[f.key] = true
	}
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, src := range sources {
			v := c.convert(src, depth, alias)
			if v.kind != kindObject {
				if v.kind != kindInvalid {
					c.errorAt(v.pos, fmt.Sprintf("<< merges mappings only, found %s; name a mapping, as in <<: *defaults", describe(&v)))
				}
				continue
			}
			for _, f := range v.fields {
				if !set[f.key] {
					out.fields = append(out.fields, f)
				}
			}
			for _, f := range v.fields {
				set[f.key] = true
			}
		}
	}
}

// yamlKeyProblem explains why a YAML key is not a catalog key.
func yamlKeyProblem(k *yaml.Node) string {
	if k.Kind != yaml.ScalarNode {
		return "a YAML mapping or sequence cannot be a key; catalog keys are strings"
	}
	what := cmp.Or(map[string]string{"!!int": "an integer", "!!float": "a number", "!!bool": "a boolean", "!!null": "null"}[k.ShortTag()],
		"the type "+k.ShortTag())
	return fmt.Sprintf("the key %s is %s in YAML, not a string; quote it (%q): catalog keys are strings", k.Value, what, k.Value)
}
