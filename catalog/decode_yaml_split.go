package catalog

import (
	"bytes"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// splitMinSize is the size from which a YAML catalog is parsed in parts,
// on several cores: yaml.v3 parses about 30 MB/s, so below it the
// goroutines cost more than they save.
const splitMinSize = 256 << 10

// splitMinItems is the fewest personas a part holds.
const splitMinItems = 64

// yamlPart is one run of persona items cut out of a YAML catalog: text
// starting at the beginning of line firstLine+1 (counted from 1), holding
// whole items of the personas list and nothing else. For the head, the
// text from the file's start, firstLine is the line of "personas:".
//
// Every part but the last ends with a sentinel, an empty item ("-" at the
// items' column) on the line where the next part's first item starts:
// yaml.v3 places an empty value at the token that follows it, so a value
// left empty at a part's end is placed where it is when the file is
// parsed whole. The sentinel is dropped after parsing.
type yamlPart struct {
	text      []byte
	firstLine int
	sentinel  bool
}

// splitYAML cuts a large catalog into a head (everything up to the end of
// the first part's items, parsed as the document) and further parts of
// whole persona items, each parsed on its own. It cuts only a catalog
// shaped the usual way: a top-level "personas:" key on a line of its own,
// its items each starting at the same column with "- ", and nothing but
// blank and comment lines after the list; no document markers or
// directives past the first line; lines that end at LF (or CRLF) only.
// Any other shape is not cut (ok false).
//
// A cut can only fall between two items: a line that starts with "- " at
// the items' column is a new item in block YAML, and wherever else such a
// line can stand (inside a quoted string or a flow collection), the part
// before it no longer parses, and the whole file is then parsed in one.
// A "personas:" line can stand inside a quoted string too, with the head
// still parsing: decodeYAMLParts checks that the head's personas key is
// the one on that line.
func splitYAML(data []byte, parts, minItems int) (head yamlPart, rest []yamlPart, ok bool) {
	if parts < 2 {
		return yamlPart{}, nil, false
	}
	// yaml.v3 also breaks lines at a lone CR and at NEL, LS and PS; lines
	// are counted here at LF alone, so a file with those is not cut.
	for _, lineBreak := range []string{"\u0085", "\u2028", "\u2029"} {
		if bytes.Contains(data, []byte(lineBreak)) {
			return yamlPart{}, nil, false
		}
	}
	var (
		items  []int // offsets of the item lines
		lines  []int // their line numbers, counted from 0
		inList bool  // past "personas:"
		col    = -1  // the items' column
		line   = 0
		// listLine is the line of "personas:", counted from 0.
		listLine int
	)
	for off := 0; off < len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(data)
		}
		text := bytes.TrimSuffix(data[off:end], []byte("\r"))
		if bytes.IndexByte(text, '\r') >= 0 {
			return yamlPart{}, nil, false
		}
		trimmed := bytes.TrimLeft(text, " ")
		blank := len(trimmed) == 0 || trimmed[0] == '#'
		switch {
		case blank:
		case line > 0 && (bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("...")) || text[0] == '%'):
			return yamlPart{}, nil, false // a document marker or directive past the start
		case !inList:
			if bytes.Equal(bytes.TrimRight(text, " "), []byte("personas:")) {
				inList, listLine = true, line
			}
		default:
			indent := len(text) - len(trimmed)
			isItem := trimmed[0] == '-' && (len(trimmed) == 1 || trimmed[1] == ' ')
			switch {
			case col < 0 && isItem:
				col = indent
				items, lines = append(items, off), append(lines, line)
			case indent == col && isItem:
				items, lines = append(items, off), append(lines, line)
			case indent <= col || col < 0:
				return yamlPart{}, nil, false // the list ends before the file does
			}
		}
		off = next
	}
	parts = min(parts, len(items)/max(1, minItems))
	if parts < 2 {
		return yamlPart{}, nil, false
	}
	per := (len(items) + parts - 1) / parts
	cut := func(k int) int { return min(k*per, len(items)) }
	sentinel := []byte(strings.Repeat(" ", col) + "-\n")
	withSentinel := func(text []byte) []byte {
		return append(append(make([]byte, 0, len(text)+len(sentinel)), text...), sentinel...)
	}
	head = yamlPart{text: withSentinel(data[:items[cut(1)]]), firstLine: listLine, sentinel: true}
	for k := 1; k < parts && cut(k) < len(items); k++ {
		part := yamlPart{text: data[items[cut(k)]:], firstLine: lines[cut(k)]}
		if cut(k+1) < len(items) {
			part.text, part.sentinel = withSentinel(data[items[cut(k)]:items[cut(k+1)]]), true
		}
		rest = append(rest, part)
	}
	return head, rest, true
}

// dropSentinel removes the sentinel, an empty last item, from list; false
// when the last item is not one.
func dropSentinel(list *yaml.Node) bool {
	n := len(list.Content)
	if n == 0 {
		return false
	}
	last := list.Content[n-1]
	if last.Kind != yaml.ScalarNode || last.ShortTag() != "!!null" || last.Value != "" || last.Style != 0 {
		return false
	}
	list.Content = list.Content[:n-1]
	return true
}

// decodeYAMLParts parses and converts a catalog in up to parts parts of at
// least minItems personas, concurrently. ok is false when the catalog is not cut (see
// splitYAML), when a part does not parse, or when it uses aliases (whose
// anchors may lie in another part): the caller then decodes the whole file
// in one, which also finds the errors where they are.
func decodeYAMLParts(file string, data []byte, parts, minItems int) (root node, diags []Diagnostic, ok bool) {
	head, rest, ok := splitYAML(data, parts, minItems)
	if !ok {
		return node{}, nil, false
	}
	type result struct {
		items    []node
		diags    []Diagnostic
		ok       bool
		panicked any
	}
	results := make([]result, len(rest))
	var wg sync.WaitGroup
	for i, part := range rest {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					r.panicked = v // raised again in the caller's goroutine
				}
			}()
			var doc yaml.Node
			if err := yaml.Unmarshal(part.text, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode || hasAlias(&doc) {
				return
			}
			if part.sentinel && !dropSentinel(doc.Content[0]) {
				return
			}
			c := yamlConverter{file: file, lineOffset: part.firstLine}
			list := c.convert(doc.Content[0], 1, nil)
			r.items, r.diags, r.ok = list.items, c.diags, !c.fatal
		}(&results[i])
	}
	var doc yaml.Node
	err := yaml.Unmarshal(head.text, &doc)
	if err == nil && len(doc.Content) == 1 && !hasAlias(&doc) && listAt(doc.Content[0], head.firstLine+1) &&
		dropSentinel(doc.Content[0].Content[len(doc.Content[0].Content)-1]) {
		c := yamlConverter{file: file}
		root, diags = c.convert(doc.Content[0], 0, nil), c.diags
		ok = !c.fatal
	} else {
		ok = false
	}
	wg.Wait()
	for _, r := range results {
		if r.panicked != nil {
			panic(r.panicked)
		}
		ok = ok && r.ok
	}
	if !ok {
		return node{}, nil, false
	}
	var list *node
	for i := range root.fields {
		if root.fields[i].key == "personas" {
			list = &root.fields[i].value
		}
	}
	if root.kind != kindObject || list == nil || list.kind != kindArray {
		return node{}, nil, false
	}
	for _, r := range results {
		list.items = append(list.items, r.items...)
		diags = append(diags, r.diags...)
	}
	return root, diags, true
}

// listAt reports whether root is a mapping whose last key is personas,
// written plain at the start of line, with a block list as its value: the
// list the cut found, and not a "personas:" line inside a quoted string.
func listAt(root *yaml.Node, line int) bool {
	n := len(root.Content)
	if root.Kind != yaml.MappingNode || n < 2 {
		return false
	}
	key, value := root.Content[n-2], root.Content[n-1]
	return key.Kind == yaml.ScalarNode && key.Value == "personas" && key.Style == 0 &&
		key.Line == line && key.Column == 1 &&
		value.Kind == yaml.SequenceNode && value.Style&yaml.FlowStyle == 0
}

// hasAlias reports whether n or a node under it is an alias.
func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}
