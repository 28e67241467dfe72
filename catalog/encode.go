package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SchemaRef is the $schema an exported catalog points at: the file
// `personactl schema` writes beside it.
const SchemaRef = "./catalog.schema.json"

// catalogFile is a catalog as Encode writes it in JSON: every member of
// every persona, in the order Persona's fields (and people) read them.
// encodeYAML writes the same.
type catalogFile struct {
	Schema   string    `json:"$schema"`
	Personas []Persona `json:"personas"`
}

// CheckExportable returns why p could not be an entry of a catalog, one
// reason per broken rule, or nothing when it could. The rules are the
// catalog's own (Load's): a live persona may break them, since the admin
// API accepts values a catalog forbids (an empty moduleMix, an empty
// tickCadence, another domain).
func CheckExportable(p Persona) []string {
	// A catalog file is UTF-8 as a whole (decode checks it); a value
	// held in memory may not be.
	var reasons []string
	for _, m := range []struct{ member, value string }{
		{"name", p.Name}, {"email", p.Email}, {"archetype", p.Archetype}, {"systemPrompt", p.SystemPrompt},
	} {
		if !utf8.ValidString(m.value) {
			reasons = append(reasons, fmt.Sprintf("%s %q is not valid UTF-8, which a catalog file must be", m.member, m.value))
		}
	}
	for k := range p.ModuleMix {
		if !utf8.ValidString(k) {
			reasons = append(reasons, fmt.Sprintf("moduleMix key %q is not valid UTF-8, which a catalog file must be", k))
		}
	}
	v := &validator{}
	n := personaNode(p)
	v.persona("", &n)
	for _, d := range v.diags {
		if d.Severity == SeverityError {
			reasons = append(reasons, d.Message)
		}
	}
	return reasons
}

// personaNode returns p as the tree a catalog entry holding p's values
// would decode to, every member present.
func personaNode(p Persona) node {
	str := func(s string) node { return node{kind: kindString, text: s} }
	mix := node{kind: kindObject}
	for _, k := range MixKeys(p.ModuleMix, nil) {
		w := p.ModuleMix[k]
		mix.fields = append(mix.fields, field{key: k, value: node{kind: kindNumber, number: w, text: strconv.FormatFloat(w, 'g', -1, 64)}})
	}
	values := [len(personaFields)]node{
		memberName:         str(p.Name),
		memberEmail:        str(p.Email),
		memberArchetype:    str(p.Archetype),
		memberSystemPrompt: str(p.SystemPrompt),
		memberModuleMix:    mix,
		memberTickCadence:  str(p.TickCadence),
	}
	n := node{kind: kindObject, fields: make([]field, len(values))}
	for i, v := range values {
		n.fields[i] = field{key: personaFields[i], value: v}
	}
	return n
}

// Encode writes personas as a catalog in format ("json", the default, or
// "yaml"): sorted by email, every member written (tickCadence too), with
// $schema pointing at SchemaRef, so that Load reads back the same personas.
// It writes nothing and returns an error when a persona breaks a catalog
// rule (see CheckExportable) or the catalog would not load.
func Encode(w io.Writer, personas []Persona, format string) error {
	format, err := formatOf("-", format)
	if err != nil {
		return err
	}
	if len(personas) == 0 {
		return fmt.Errorf("no personas to export: a catalog holds at least one")
	}
	var refused []string
	for _, p := range personas {
		if reasons := CheckExportable(p); len(reasons) > 0 {
			refused = append(refused, fmt.Sprintf("%s: %s", p.Email, strings.Join(reasons, "; ")))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("%d of %d personas cannot be catalog entries as they are; fix them through the admin API, or leave them out:\n  %s",
			len(refused), len(personas), strings.Join(refused, "\n  "))
	}

	file := catalogFile{Schema: SchemaRef, Personas: slices.Clone(personas)}
	slices.SortFunc(file.Personas, func(a, b Persona) int { return strings.Compare(a.Email, b.Email) })

	var buf bytes.Buffer
	if format == "yaml" {
		err = encodeYAML(&buf, &file)
	} else {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // a prompt's "<" and "&" stay readable
		err = enc.Encode(&file)
	}
	if err != nil {
		return fmt.Errorf("encode the catalog as %s: %w", format, err)
	}
	// What holds for each persona may not hold for all of them (two
	// addresses that differ in letter case): what is written must load.
	if _, err := Parse("exported catalog", buf.Bytes(), Options{Format: format}); err != nil {
		return fmt.Errorf("the exported catalog would not load, so it is not written:\n%w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// encodeYAML writes file as YAML, with the comment that points editors
// using the YAML language server at the schema, as examples/catalog.yaml
// does. The tree is built by hand rather than by yaml.v3's Marshal, which
// writes a multi-line string that starts with a blank or a line break as a
// block scalar with an indentation indicator that is wrong inside a list,
// so the result would not parse.
func encodeYAML(w io.Writer, file *catalogFile) error {
	str := func(s string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
		if strings.Contains(s, "\n") && strings.IndexAny(s[:1], " \t\n") == 0 {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n
	}
	mapping := func(kv ...*yaml.Node) *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Content: kv}
	}
	personas := &yaml.Node{Kind: yaml.SequenceNode}
	for _, p := range file.Personas {
		mix := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, k := range MixKeys(p.ModuleMix, nil) {
			// Untagged: every number FormatFloat writes reads as a number.
			weight := &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(p.ModuleMix[k], 'g', -1, 64)}
			mix.Content = append(mix.Content, str(k), weight)
		}
		personas.Content = append(personas.Content, mapping(
			str("name"), str(p.Name),
			str("email"), str(p.Email),
			str("archetype"), str(p.Archetype),
			str("systemPrompt"), str(p.SystemPrompt),
			str("moduleMix"), mix,
			str("tickCadence"), str(p.TickCadence),
		))
	}
	doc := &yaml.Node{
		Kind:        yaml.DocumentNode,
		HeadComment: "yaml-language-server: $schema=" + file.Schema,
		Content:     []*yaml.Node{mapping(str("$schema"), str(file.Schema), str("personas"), personas)},
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}
