package catalog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// onePersona is a valid catalog with one member per line, so that a test can
// break one member and know where: name is on line 4, email on 5, archetype
// on 6, systemPrompt on 7, moduleMix on 8 and tickCadence on 9; members start
// in column 7, and their values in columns 15, 16, 20, 23, 20 and 22.
const onePersona = `{
  "personas": [
    {
      "name": "Nora",
      "email": "persona.nora@mana.test",
      "archetype": "night-nurse",
      "systemPrompt": "You are Nora, 41, a night-shift nurse.",
      "moduleMix": {"journal": 0.5, "mood": 0.5},
      "tickCadence": "daily"
    }
  ]
}`

// onePersonaYAML is onePersona in block-style YAML: name on line 2 (value in
// column 11), email on 3 (12), archetype on 4 (16), systemPrompt on 5 (19),
// moduleMix on 6 (16) and tickCadence on 7 (18); members start in column 5.
const onePersonaYAML = `personas:
  - name: Nora
    email: persona.nora@mana.test
    archetype: night-nurse
    systemPrompt: You are Nora, 41, a night-shift nurse.
    moduleMix: {journal: 0.5, mood: 0.5}
    tickCadence: daily
`

// with returns onePersona with line n replaced by member, indented as the
// other members are; an empty member deletes the line.
func with(n int, member string) string { return replaceLine(onePersona, n, "      ", member) }

// withYAML does the same to onePersonaYAML.
func withYAML(n int, member string) string {
	indent := "    "
	if n == 2 {
		indent = "  - "
	}
	return replaceLine(onePersonaYAML, n, indent, member)
}

func replaceLine(doc string, n int, indent, text string) string {
	lines := strings.Split(doc, "\n")
	if text == "" {
		lines = append(lines[:n-1], lines[n:]...)
	} else {
		lines[n-1] = indent + text
	}
	return strings.Join(lines, "\n")
}

// twoPersonas is a catalog of two personas, each on one line (lines 3 and 4).
func twoPersonas(first, second string) string {
	return "{\n  \"personas\": [\n    " + first + ",\n    " + second + "\n  ]\n}"
}

// personaLine is a valid persona on one line. On a line of twoPersonas,
// name's value starts in column 14 and email's in column 27+len(name).
func personaLine(name, email string) string {
	return fmt.Sprintf(`{"name": %q, "email": %q, "archetype": "gardener", "systemPrompt": "You are a retired gardener.", "moduleMix": {"notes": 1}}`, name, email)
}

// badCatalog is a catalog file that must not load, and the error it must give.
type badCatalog struct {
	name  string
	file  string // its extension chooses the format
	input string
	// msg must be part of an error located at line and col.
	msg       string
	line, col int
	// errors is how many errors the file has; 0 means 1.
	errors int
	// schemaCannot says why the JSON Schema cannot reject this file; empty
	// means it must reject it (a YAML file is given to it as JSON).
	schemaCannot string
	// yamlDiffers says why this JSON file read as YAML gives other
	// diagnostics; empty means it must give the same ones.
	yamlDiffers string
}

const (
	notJSON      = "not JSON, so there is nothing to validate"
	jsonSyntax   = "a JSON syntax error; YAML's flow syntax is more lenient"
	yamlSyntax   = "invalid YAML, so there is nothing to validate"
	duplicateKey = "a JSON parser keeps one of the two values, so the schema never sees both"
)

func badCatalogs() []badCatalog {
	return []badCatalog{
		// Malformed JSON.
		{name: "comma before }", file: "c.json", input: with(9, `"tickCadence": "daily",`),
			msg: "JSON allows no comma before }", line: 9, col: 29, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "value missing", file: "c.json", input: with(4, `"name": ,`),
			msg: "a value is missing after the colon", line: 4, col: 15, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "two commas", file: "c.json", input: with(4, `"name": "Nora",,`),
			msg: "a value is missing between two commas", line: 4, col: 22, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "key not quoted", file: "c.json", input: with(4, `name: "Nora",`),
			msg: "keys must be strings in double quotes", line: 4, col: 7, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "comma missing", file: "c.json", input: with(4, `"name": "Nora"`),
			msg: "a comma is missing", line: 5, col: 7, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "single quotes", file: "c.json", input: with(4, `'name': "Nora",`),
			msg: "JSON strings and keys take double quotes", line: 4, col: 7, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "misspelt literal", file: "c.json", input: with(9, `"tickCadence": tru`),
			msg: "invalid character '\\n' in literal true", line: 9, col: 25, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "file ends early", file: "c.json", input: onePersona[:len(onePersona)-6],
			msg: "the file ends in the middle of the JSON document", line: 10, col: 6, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "data after the document", file: "c.json", input: onePersona + "\n{}\n",
			msg: "unexpected data after the end of the JSON document", line: 13, col: 1, schemaCannot: notJSON, yamlDiffers: jsonSyntax},
		{name: "YAML read as JSON", file: "c.json", input: onePersonaYAML,
			msg: "this looks like YAML: name the file .yaml", line: 1, col: 1, schemaCannot: notJSON, yamlDiffers: "it is valid YAML"},
		{name: "nested too deep", file: "c.json", input: `{"personas": ` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}",
			msg: "values nest more than 64 levels deep", line: 1, col: 77},

		// The file as a whole.
		{name: "empty file", file: "c.json", input: "",
			msg: "the file is empty", schemaCannot: notJSON},
		{name: "only whitespace", file: "c.json", input: " \n\t\n",
			msg: "the file is empty", schemaCannot: notJSON},
		{name: "byte order mark then an error", file: "c.json", input: utf8BOM + with(4, `"name": 42,`),
			msg: "personas[0].name must be a string, found number 42", line: 4, col: 15,
			schemaCannot: "the schema validator reads bytes, and JSON forbids a byte order mark"},
		{name: "invalid UTF-8", file: "c.json", input: with(4, "\"name\": \"No\xffra\","),
			msg: "the file is not valid UTF-8 (byte 0xff); save it as UTF-8", line: 4, col: 18, schemaCannot: notJSON},
		{name: "over the size limit", file: "c.json", input: onePersona + strings.Repeat(" ", MaxSize),
			msg: "larger than 32 MiB", schemaCannot: "the schema has no size limit"},

		// The catalog object.
		{name: "a list, not a catalog", file: "c.json", input: `[` + personaLine("Nora", "persona.nora@mana.test") + `]`,
			msg: `found an array; wrap the list: {"personas": [...]}`, line: 1, col: 1},
		{name: "a string, not a catalog", file: "c.json", input: `"personas"`,
			msg: `the catalog must be an object with a "personas" array, found string "personas"`, line: 1, col: 1},
		{name: "no personas", file: "c.json", input: `{"description": "nobody yet"}`,
			msg: `the catalog has no "personas"`, line: 1, col: 1},
		{name: "personas empty", file: "c.json", input: `{"personas": []}`,
			msg: "personas is empty; add at least one persona", line: 1, col: 14},
		{name: "personas an object", file: "c.json", input: `{"personas": {}}`,
			msg: "personas must be an array of personas, found object", line: 1, col: 14},
		{name: "description a number", file: "c.json", input: strings.Replace(onePersona, "{\n", `{"description": 7,`+"\n", 1),
			msg: "description must be a string, found number 7", line: 1, col: 17},
		{name: "$schema null", file: "c.json", input: strings.Replace(onePersona, "{\n", `{"$schema": null,`+"\n", 1),
			msg: "$schema must be a string, found null; leave the field out instead", line: 1, col: 13},
		{name: "persona a string", file: "c.json", input: `{"personas": ["Nora"]}`,
			msg: `personas[0] must be an object, found string "Nora"`, line: 1, col: 15},

		// Each member of a persona.
		{name: "name a number", file: "c.json", input: with(4, `"name": 42,`),
			msg: "personas[0].name must be a string, found number 42", line: 4, col: 15},
		{name: "name null", file: "c.json", input: with(4, `"name": null,`),
			msg: "personas[0].name must be a string, found null", line: 4, col: 15},
		{name: "name empty", file: "c.json", input: with(4, `"name": "",`),
			msg: "personas[0].name is empty", line: 4, col: 15},
		{name: "email missing", file: "c.json", input: with(5, ""),
			msg: `personas[0] has no "email"`, line: 3, col: 5},
		{name: "email a list", file: "c.json", input: with(5, `"email": ["persona.nora@mana.test"],`),
			msg: "personas[0].email must be a string, found array", line: 5, col: 16},
		{name: "email not an address", file: "c.json", input: with(5, `"email": "persona nora@mana.test",`),
			msg: "is not a valid email address", line: 5, col: 16},
		{name: "email with two dots in a row", file: "c.json", input: with(5, `"email": "persona..nora@mana.test",`),
			msg: "is not a valid email address", line: 5, col: 16},
		{name: "email on another domain", file: "c.json", input: with(5, `"email": "persona.nora@example.com",`),
			msg: `does not end in @mana.test, a domain that does not exist, so that no mail can reach a real person; write "persona.nora@mana.test"`, line: 5, col: 16},
		{name: "email with capitals", file: "c.json", input: with(5, `"email": "Persona.Nora@mana.test",`),
			msg: `has capitals; mana-auth stores addresses lowercased but matches them verbatim on upsert, so every run after the first would fail and lock the persona-runner out; write "persona.nora@mana.test"`, line: 5, col: 16},
		{name: "email with a capital domain", file: "c.json", input: with(5, `"email": "persona.nora@MANA.TEST",`),
			msg: `has capitals`, line: 5, col: 16},
		{name: "email too long", file: "c.json", input: with(5, `"email": "`+strings.Repeat("n", 65)+`@mana.test",`),
			msg: "has 65 characters before the @, more than the 64", line: 5, col: 16},
		{name: "archetype empty", file: "c.json", input: with(6, `"archetype": "",`),
			msg: "personas[0].archetype is empty", line: 6, col: 20},
		{name: "systemPrompt too short", file: "c.json", input: with(7, `"systemPrompt": "Nora, a nurse.",`),
			msg: "personas[0].systemPrompt is 14 characters long, fewer than 20", line: 7, col: 23},
		{name: "upsert body over 1 MiB", file: "c.json", input: with(7, `"systemPrompt": "`+strings.Repeat("x", 1100000)+`",`),
			msg: "personas[0] takes 1100", line: 7, col: 23},
		{name: "upsert body over 1 MiB once escaped", file: "c.json", input: with(7, `"systemPrompt": "`+strings.Repeat("<", 180000)+`",`),
			msg: "over the limit of 1048576 (1 MiB): mana-auth would store it, but its detail answer could then exceed the 4 MiB personactl reads", line: 7, col: 23,
			schemaCannot: "the limit is on the bytes of the encoded body, and a schema counts characters; 180,000 of them are 1,080,000 bytes once each < is escaped"},
		{name: "systemPrompt short in characters, long in bytes", file: "c.json", input: with(7, `"systemPrompt": "`+strings.Repeat("ä", 19)+`",`),
			msg: "personas[0].systemPrompt is 19 characters long", line: 7, col: 23},
		{name: "moduleMix a list", file: "c.json", input: with(8, `"moduleMix": [0.5, 0.5],`),
			msg: "personas[0].moduleMix must be an object of module names to weights, found array", line: 8, col: 20},
		{name: "moduleMix empty", file: "c.json", input: with(8, `"moduleMix": {},`),
			msg: "personas[0].moduleMix is empty, so the runner would have nothing to do", line: 8, col: 20},
		{name: "moduleMix negative weight", file: "c.json", input: with(8, `"moduleMix": {"journal": 1.5, "mood": -0.5},`),
			msg: "personas[0].moduleMix.mood is -0.5; weights must be 0 or more", line: 8, col: 45},
		{name: "moduleMix weight overflows", file: "c.json", input: with(8, `"moduleMix": {"journal": 1e999},`),
			msg: "personas[0].moduleMix.journal is 1e999, not a finite number", line: 8, col: 32,
			schemaCannot: "JSON Schema numbers are arbitrary-precision: 1e999 is a number >= 0 to it",
			yamlDiffers:  "yaml.v3 reads a number that overflows float64 as a string"},
		{name: "moduleMix weight a string", file: "c.json", input: with(8, `"moduleMix": {"journal": "0.5", "mood": 0.5},`),
			msg: `personas[0].moduleMix.journal must be a number, found string "0.5"`, line: 8, col: 32},
		{name: "moduleMix all zero", file: "c.json", input: with(8, `"moduleMix": {"journal": 0, "mood": 0.0},`),
			msg: "every weight in personas[0].moduleMix is 0", line: 8, col: 20},
		{name: "moduleMix empty module name", file: "c.json", input: with(8, `"moduleMix": {"": 1},`),
			msg: "personas[0].moduleMix has a module with an empty name", line: 8, col: 21},
		{name: "moduleMix key twice", file: "c.json", input: with(8, `"moduleMix": {"mood": 0.5, "mood": 0.5},`),
			msg: `personas[0].moduleMix has "mood" twice (first at line 8, column 21)`, line: 8, col: 34, schemaCannot: duplicateKey},
		{name: "tickCadence in capitals", file: "c.json", input: with(9, `"tickCadence": "Daily"`),
			msg: `personas[0].tickCadence is "Daily", not one of daily, weekdays, hourly; did you mean "daily"?`, line: 9, col: 22},
		{name: "tickCadence unknown", file: "c.json", input: with(9, `"tickCadence": "monthly"`),
			msg: "not one of daily, weekdays, hourly; use one of them, or leave the field out for daily", line: 9, col: 22},
		{name: "tickCadence null", file: "c.json", input: with(9, `"tickCadence": null`),
			msg: "personas[0].tickCadence must be a string, found null; leave the field out instead", line: 9, col: 22},
		{name: "misspelt optional field", file: "c.json", input: with(9, `"tickCadance": "hourly"`),
			msg: `unknown field "tickCadance" in personas[0]; did you mean "tickCadence"?`, line: 9, col: 7},
		{name: "misspelt required field", file: "c.json", input: with(7, `"sytemPrompt": "You are Nora, 41, a night-shift nurse.",`),
			msg: `unknown field "sytemPrompt" in personas[0]; did you mean "systemPrompt"?`, line: 7, col: 7, errors: 2},
		{name: "unknown field", file: "c.json", input: with(9, `"tickCadence": "daily", "colour": "green"`),
			msg: `unknown field "colour" in personas[0]; the fields are name, email, archetype`, line: 9, col: 31},
		{name: "member given twice", file: "c.json", input: with(4, `"name": "Nora", "name": "Nina",`),
			msg: `personas[0] has "name" twice (first at line 4, column 7)`, line: 4, col: 23, schemaCannot: duplicateKey},

		// Characters that hide what a reviewer reads, located at the
		// character: raw, or the escape that writes it.
		{name: "bidi override written raw in a name", file: "c.json", input: with(4, "\"name\": \"No\u202Era\","),
			msg: "personas[0].name has U+202E RIGHT-TO-LEFT OVERRIDE at character 3: it changes the order in which the text around it is shown, so it hides what a reviewer reads", line: 4, col: 18},
		{name: "bidi override escaped in a name", file: "c.json", input: with(4, `"name": "No\u202era",`),
			msg: "personas[0].name has U+202E RIGHT-TO-LEFT OVERRIDE at character 3", line: 4, col: 18},
		{name: "bidi override after an escaped backslash", file: "c.json", input: with(4, `"name": "No\\\u2067ra",`),
			msg: "personas[0].name has U+2067 RIGHT-TO-LEFT ISOLATE at character 4", line: 4, col: 20},
		{name: "two bidi controls, the first escaped", file: "c.json", input: with(4, `"name": "N\u202eo`+"\u202C"+`ra",`),
			msg: "personas[0].name has U+202E RIGHT-TO-LEFT OVERRIDE at character 2 (the first of 2 such characters)", line: 4, col: 17},
		{name: "line feed in a name", file: "c.json", input: with(4, `"name": "Nora\n",`),
			msg: "personas[0].name has U+000A LINE FEED at character 5: only systemPrompt may hold line breaks and tabs", line: 4, col: 20},
		{name: "tab in a name", file: "c.json", input: with(4, `"name": "\tNora",`),
			msg: "personas[0].name has U+0009 CHARACTER TABULATION at character 1", line: 4, col: 16},
		{name: "terminal escape in a systemPrompt", file: "c.json", input: with(7, `"systemPrompt": "You are Nora, \u001b[8mhidden\u001b[0m a nurse.",`),
			msg: "personas[0].systemPrompt has U+001B ESCAPE at character 15 (the first of 2 such characters): control characters are invisible, or act on the terminal that shows them, so they hide what a reviewer reads; remove it", line: 7, col: 38},
		{name: "carriage return in a systemPrompt", file: "c.json", input: with(7, `"systemPrompt": "You are Nora, 41.\r\nA night-shift nurse.",`),
			msg: "personas[0].systemPrompt has U+000D CARRIAGE RETURN at character 18: a carriage return makes a terminal write over the line before it", line: 7, col: 41},
		{name: "C1 control in a systemPrompt", file: "c.json", input: with(7, `"systemPrompt": "You are Nora\u0090, a night-shift nurse.",`),
			msg: "personas[0].systemPrompt has U+0090 (a C1 control character) at character 13", line: 7, col: 36},
		{name: "delete in an archetype", file: "c.json", input: with(6, `"archetype": "night\u007fnurse",`),
			msg: "personas[0].archetype has U+007F DELETE at character 6", line: 6, col: 26},
		{name: "right-to-left mark in an archetype", file: "c.json", input: with(6, "\"archetype\": \"night-nurse\u200F\","),
			msg: "personas[0].archetype has U+200F RIGHT-TO-LEFT MARK at character 12", line: 6, col: 32},
		{name: "bidi override in an email", file: "c.json", input: with(5, `"email": "persona.nora\u202e@mana.test",`),
			msg: "personas[0].email has U+202E RIGHT-TO-LEFT OVERRIDE at character 13", line: 5, col: 29},
		{name: "arabic letter mark in a moduleMix key", file: "c.json", input: with(8, "\"moduleMix\": {\"jour\u061Cnal\": 0.5, \"mood\": 0.5},"),
			msg: `personas[0].moduleMix key "jour\u061cnal" has U+061C ARABIC LETTER MARK at character 5`, line: 8, col: 26},
		{name: "YAML bidi isolate written raw in a plain name", file: "c.yaml", input: withYAML(2, "name: No\u2066ra"),
			msg: "personas[0].name has U+2066 LEFT-TO-RIGHT ISOLATE at character 3", line: 2, col: 13},
		{name: "YAML bidi override escaped in a double-quoted name", file: "c.yaml", input: withYAML(2, `name: "No\u202Era"`),
			msg: "personas[0].name has U+202E RIGHT-TO-LEFT OVERRIDE at character 3", line: 2, col: 14},
		{name: "YAML next line escaped in a double-quoted name", file: "c.yaml", input: withYAML(2, `name: "\x41\\\NNora"`),
			msg: "personas[0].name has U+0085 NEXT LINE at character 3", line: 2, col: 18},
		{name: "YAML terminal escape in a systemPrompt", file: "c.yaml", input: withYAML(5, `systemPrompt: "You are Nora, \e[8m a night-shift nurse."`),
			msg: "personas[0].systemPrompt has U+001B ESCAPE at character 15", line: 5, col: 34},
		{name: "YAML bidi mark in a single-quoted archetype", file: "c.yaml", input: withYAML(4, "archetype: 'it''s night\u200Enurse'"),
			msg: "personas[0].archetype has U+200E LEFT-TO-RIGHT MARK at character 11", line: 4, col: 28},
		{name: "YAML bidi override in a folded systemPrompt", file: "c.yaml", input: withYAML(5, "systemPrompt: >\n      You are Nora, 41,\n      a night\u202E-shift nurse."),
			msg: "personas[0].systemPrompt has U+202E RIGHT-TO-LEFT OVERRIDE at character 26", line: 7, col: 14},
		{name: "YAML name as a block scalar ends in a line feed", file: "c.yaml", input: withYAML(2, "name: |\n      Nora"),
			msg: "personas[0].name has U+000A LINE FEED at character 5: only systemPrompt may hold line breaks and tabs; remove it (in YAML, write the value on the key's line rather than after | or >)", line: 2, col: 11},
		{name: "YAML bidi isolate in a moduleMix key", file: "c.yaml", input: withYAML(6, "moduleMix: {jour\u2069nal: 0.5, mood: 0.5}"),
			msg: `personas[0].moduleMix key "jour\u2069nal" has U+2069 POP DIRECTIONAL ISOLATE at character 5`, line: 6, col: 21},
		{name: "YAML bidi override through an alias", file: "c.yaml",
			input: "personas:\n  - name: &n \"No\\u202Era\"\n    email: persona.nora@mana.test\n    archetype: night-nurse\n    systemPrompt: You are Nora, 41, a night-shift nurse.\n    moduleMix: {journal: 1}\n  - name: *n\n    email: persona.nina@mana.test\n    archetype: night-nurse\n    systemPrompt: You are Nina, 39, a night-shift nurse.\n    moduleMix: {journal: 1}\n",
			msg:   "personas[1].name has U+202E RIGHT-TO-LEFT OVERRIDE at character 3", line: 7, col: 11, errors: 2},
		{name: "YAML bidi override behind an anchor", file: "c.yaml", input: withYAML(2, `name: &n !!str "No\u202Era"`),
			msg: "personas[0].name has U+202E RIGHT-TO-LEFT OVERRIDE at character 3", line: 2, col: 23},

		// Rules across personas.
		{name: "two personas, one email", file: "c.json",
			input: twoPersonas(personaLine("Walter", "persona.walter@mana.test"), personaLine("Walt", "persona.walter@mana.test")),
			msg:   "personas[1].email \"persona.walter@mana.test\" is also the address of personas[0] (line 3, column 33)", line: 4, col: 31,
			schemaCannot: "uniqueItems compares whole personas, not one member"},
		// mana-auth lowercases addresses, so these two are one user: the
		// error names the second line and points back at the first.
		{name: "two personas, one email in other letter case", file: "c.json",
			input: twoPersonas(personaLine("Walter", "persona.walter@mana.test"), personaLine("Walt", "Persona.Walter@mana.test")),
			msg:   "personas[1].email \"Persona.Walter@mana.test\" is also the address of personas[0] (line 3, column 33)", line: 4, col: 31, errors: 2},

		// YAML.
		{name: "YAML indented with a tab", file: "c.yaml", input: "personas:\n\t- name: Nora\n",
			msg: "YAML indents with spaces, never tabs", line: 2, schemaCannot: yamlSyntax},
		{name: "YAML unclosed flow sequence", file: "c.yaml", input: withYAML(6, "moduleMix: {journal: 0.5, mood: 0.5"),
			msg: "invalid YAML: did not find expected ',' or '}'", line: 6, schemaCannot: yamlSyntax},
		{name: "YAML member indented off its siblings", file: "c.yaml", input: replaceLine(onePersonaYAML, 6, "", "    moduleMix:\n      journal: 0.5\n     mood: 0.5"),
			msg: "line 8 is indented to a depth no line above it opens", line: 8, col: 6, schemaCannot: yamlSyntax},
		{name: "YAML block scalar deeper than its key", file: "c.yaml", input: replaceLine(onePersonaYAML, 5, "", "    systemPrompt: |\n        You are Nora, 41, a night-shift nurse.\n      still the prompt\n   archetype: x"),
			msg: "line 8 is indented to a depth no line above it opens", line: 8, col: 4, schemaCannot: yamlSyntax},
		{name: "YAML with two documents", file: "c.yaml", input: onePersonaYAML + "---\n" + onePersonaYAML,
			msg: "a second YAML document starts here", line: 8, col: 1, schemaCannot: "a schema describes one document"},
		{name: "YAML alias bomb", file: "c.yaml", input: `lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
`, msg: "YAML aliases in this file expand to more than 10000 values", line: 5, col: 8, schemaCannot: "a schema sees values after aliases are expanded, if they can be"},
		{name: "YAML number as a key", file: "c.yaml", input: withYAML(6, "moduleMix: {1: 0.5, mood: 0.5}"),
			msg: `the key 1 is an integer in YAML, not a string; quote it ("1")`, line: 6, col: 17, schemaCannot: "a key that is not a string has no JSON form"},
		{name: "YAML unsupported tag", file: "c.yaml", input: withYAML(2, "name: !secret Nora"),
			msg: "the YAML tag !secret is not supported in a catalog", line: 2, col: 11, schemaCannot: "JSON has no tags"},
		{name: "YAML boolean name", file: "c.yaml", input: withYAML(2, "name: true"),
			msg: "personas[0].name must be a string, found boolean true", line: 2, col: 11},
		{name: "YAML infinite weight", file: "c.yaml", input: withYAML(6, "moduleMix: {journal: .inf}"),
			msg: "personas[0].moduleMix.journal is .inf, not a finite number", line: 6, col: 26, schemaCannot: "JSON has no infinity"},
		{name: "YAML weight too large for a number", file: "c.yaml", input: withYAML(6, "moduleMix: {journal: 1e400}"),
			msg: "personas[0].moduleMix.journal is 1e400, not a finite number", line: 6, col: 26, schemaCannot: "YAML reads it as text, a JSON Schema sees a string"},
		{name: "YAML misspelt field", file: "c.yaml", input: withYAML(7, "tick_cadence: hourly"),
			msg: `unknown field "tick_cadence" in personas[0]; did you mean "tickCadence"?`, line: 7, col: 5},
		{name: "YAML email with capitals", file: "c.yaml", input: withYAML(3, "email: Persona.Nora@mana.test"),
			msg: `write "persona.nora@mana.test"`, line: 3, col: 12},
		{name: "YAML merge of a scalar", file: "c.yaml", input: withYAML(7, "tickCadence: &cadence daily\n    <<: *cadence"),
			msg: "<< merges mappings only, found string \"daily\"", line: 8, col: 9, schemaCannot: "a broken merge key has no JSON form"},
	}
}

// errorsOf returns the diagnostics of a failed load, failing the test when
// the load did not fail with Errors.
func errorsOf(t *testing.T, err error) Errors {
	t.Helper()
	var diags Errors
	if !errors.As(err, &diags) {
		t.Fatalf("error is %T, want catalog.Errors: %v", err, err)
	}
	return diags
}

func countErrors(diags []Diagnostic) int {
	n := 0
	for _, d := range diags {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

func TestBadCatalogs(t *testing.T) {
	for _, tt := range badCatalogs() {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := Parse(tt.file, []byte(tt.input), Options{})
			if err == nil {
				t.Fatalf("loaded %d personas, want an error %q", len(cat.Personas), tt.msg)
			}
			diags := errorsOf(t, err)
			want := max(tt.errors, 1)
			if got := countErrors(diags); got != want {
				t.Errorf("%d errors, want %d:\n%v", got, want, diags)
			}
			for _, d := range diags {
				if d.File != tt.file {
					t.Errorf("diagnostic names file %q, want %q", d.File, tt.file)
				}
				if d.Severity == SeverityError && strings.Contains(d.Message, tt.msg) {
					if d.Line != tt.line || d.Col != tt.col {
						t.Errorf("error %q at %d:%d, want %d:%d", tt.msg, d.Line, d.Col, tt.line, tt.col)
					}
					return
				}
			}
			t.Errorf("no error contains %q; got:\n%v", tt.msg, diags)
		})
	}
}

// TestJSONAndYAMLAgree reads every bad JSON catalog as YAML too (YAML 1.2 is
// a superset of JSON): both must report the same problems at the same places.
func TestJSONAndYAMLAgree(t *testing.T) {
	for _, tt := range badCatalogs() {
		if filepath.Ext(tt.file) != ".json" || tt.yamlDiffers != "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			_, jsonErr := Parse("c", []byte(tt.input), Options{Format: "json"})
			_, yamlErr := Parse("c", []byte(tt.input), Options{Format: "yaml"})
			if !reflect.DeepEqual(jsonErr, yamlErr) {
				t.Errorf("JSON and YAML disagree:\njson:\n%v\nyaml:\n%v", jsonErr, yamlErr)
			}
		})
	}
}

func TestRealCatalogLoads(t *testing.T) {
	data := fixture(t, "catalog.json")
	for _, format := range []string{"json", "yaml"} {
		cat, err := Parse("catalog.json", data, Options{Format: format, Strict: true})
		if err != nil {
			t.Fatalf("as %s: %v", format, err)
		}
		if len(cat.Personas) != 10 {
			t.Errorf("as %s: %d personas, want 10", format, len(cat.Personas))
		}
		if cat.Personas[0].Email != "persona.anna@mana.test" || cat.Personas[2].TickCadence != "weekdays" {
			t.Errorf("as %s: first personas read wrong: %+v", format, cat.Personas[:3])
		}
	}
	asJSON, _ := Parse("catalog.json", data, Options{})
	asYAML, _ := Parse("catalog.json", data, Options{Format: "yaml"})
	if !reflect.DeepEqual(asJSON, asYAML) {
		t.Error("the real catalog reads differently as JSON and as YAML")
	}
}

func TestGoodCatalogs(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		input string
		want  Persona
	}{
		{"every member", "c.json", onePersona, nora()},
		{"cadence left out is daily", "c.json", strings.Replace(with(9, ""), `0.5},`, `0.5}`, 1), nora()},
		{"cadence hourly", "c.json", with(9, `"tickCadence": "hourly"`), func() Persona { p := nora(); p.TickCadence = "hourly"; return p }()},
		{"byte order mark", "c.json", utf8BOM + onePersona, nora()},
		{"prompt of 20 characters, 40 bytes", "c.json", with(7, `"systemPrompt": "`+strings.Repeat("ä", 20)+`",`),
			func() Persona { p := nora(); p.SystemPrompt = strings.Repeat("ä", 20); return p }()},
		{"weights summing to 1 within 0.01", "c.json", with(8, `"moduleMix": {"journal": 0.5, "mood": 0.495},`),
			func() Persona { p := nora(); p.ModuleMix = map[string]float64{"journal": 0.5, "mood": 0.495}; return p }()},
		{"a zero weight beside others", "c.json", with(8, `"moduleMix": {"journal": 1, "mood": 0},`),
			func() Persona { p := nora(); p.ModuleMix = map[string]float64{"journal": 1, "mood": 0}; return p }()},
		{"email with + and '", "c.json", with(5, `"email": "persona.o'neil+night@mana.test",`),
			func() Persona { p := nora(); p.Email = "persona.o'neil+night@mana.test"; return p }()},
		{"line feeds and tabs in a systemPrompt", "c.json", with(7, `"systemPrompt": "You are Nora, 41.\n\tA night-shift nurse.",`),
			func() Persona { p := nora(); p.SystemPrompt = "You are Nora, 41.\n\tA night-shift nurse."; return p }()},
		{"a backslash and u202e written out in a name", "c.json", with(4, `"name": "No\\u202era",`),
			func() Persona { p := nora(); p.Name = `No\u202era`; return p }()},
		{"right-to-left script without controls", "c.json", with(4, `"name": "نورا",`),
			func() Persona { p := nora(); p.Name = "نورا"; return p }()},
		{"YAML literal block systemPrompt", "c.yaml", withYAML(5, "systemPrompt: |\n      You are Nora, 41.\n      A night-shift nurse."),
			func() Persona { p := nora(); p.SystemPrompt = "You are Nora, 41.\nA night-shift nurse.\n"; return p }()},
		{"YAML block style", "c.yaml", onePersonaYAML, nora()},
		{"YAML .yml extension", "c.yml", onePersonaYAML, nora()},
		{"YAML byte order mark", "c.yaml", utf8BOM + onePersonaYAML, nora()},
		{"YAML hexadecimal weight", "c.yaml", withYAML(6, "moduleMix: {journal: 0x1}"),
			func() Persona { p := nora(); p.ModuleMix = map[string]float64{"journal": 1}; return p }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := Parse(tt.file, []byte(tt.input), Options{Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(cat.Personas) != 1 || !reflect.DeepEqual(cat.Personas[0], tt.want) {
				t.Errorf("personas = %+v, want [%+v]", cat.Personas, tt.want)
			}
		})
	}
}

// nora is the persona onePersona describes.
func nora() Persona {
	return Persona{
		Name:         "Nora",
		Email:        "persona.nora@mana.test",
		Archetype:    "night-nurse",
		SystemPrompt: "You are Nora, 41, a night-shift nurse.",
		ModuleMix:    map[string]float64{"journal": 0.5, "mood": 0.5},
		TickCadence:  "daily",
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		msg       string
		line, col int
	}{
		{"weights sum under 1", with(8, `"moduleMix": {"journal": 0.5, "mood": 0.3},`),
			"the weights in personas[0].moduleMix sum to 0.8, not 1; scale them so that they add up to 1", 8, 20},
		{"weights sum over 1", with(8, `"moduleMix": {"journal": 0.5, "mood": 0.52},`),
			"sum to 1.02, not 1", 8, 20},
		{"systemPrompt over 8000 characters", with(7, `"systemPrompt": "`+strings.Repeat("ü", 8001)+`",`),
			"personas[0].systemPrompt is 8001 characters long, over 8000; shorten it", 7, 23},
		{"two personas, one name", twoPersonas(personaLine("Walter", "persona.walter@mana.test"), personaLine("Walter", "persona.walt@mana.test")),
			`personas[1].name "Walter" is also the name of personas[0] (line 3, column 14)`, 4, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := Parse("c.json", []byte(tt.input), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cat.Warnings) != 1 {
				t.Fatalf("%d warnings, want 1: %v", len(cat.Warnings), cat.Warnings)
			}
			w := cat.Warnings[0]
			if w.Severity != SeverityWarning || !strings.Contains(w.Message, tt.msg) || w.Line != tt.line || w.Col != tt.col {
				t.Errorf("warning = %s\nwant       c.json:%d:%d: warning: ...%s...", w, tt.line, tt.col, tt.msg)
			}

			_, err = Parse("c.json", []byte(tt.input), Options{Strict: true})
			if err == nil {
				t.Fatal("Strict loaded a catalog with a warning")
			}
			diags := errorsOf(t, err)
			if len(diags) != 1 || diags[0].Severity != SeverityError || !strings.Contains(diags[0].Message, tt.msg) ||
				!strings.Contains(diags[0].Message, "strict mode") || diags[0].Line != tt.line {
				t.Errorf("with Strict: %v", diags)
			}
		})
	}
	t.Run("8000 characters are fine", func(t *testing.T) {
		cat, err := Parse("c.json", []byte(with(7, `"systemPrompt": "`+strings.Repeat("ü", 8000)+`",`)), Options{Strict: true})
		if err != nil || len(cat.Warnings) != 0 {
			t.Errorf("err = %v, warnings = %v", err, cat.Warnings)
		}
	})
}

// TestAllProblemsAtOnce checks that a file with several problems reports each
// one, in file order, and keeps the warnings found beside them.
func TestAllProblemsAtOnce(t *testing.T) {
	input := twoPersonas(
		`{"name": "Walter", "email": "Persona.Walter@mana.test", "archetype": "gardener", "systemPrompt": "You are a retired gardener.", "moduleMix": {"notes": 0.5}}`,
		`{"name": "Walter", "email": "persona.priya@mana.test", "archetype": "", "systemPrompt": "Too short.", "moduleMix": {"notes": 1}}`,
	)
	_, err := Parse("c.json", []byte(input), Options{})
	diags := errorsOf(t, err)
	want := []string{
		"c.json:3:33: error: personas[0].email \"Persona.Walter@mana.test\" has capitals",
		"c.json:3:146: warning: the weights in personas[0].moduleMix sum to 0.5",
		"c.json:4:14: warning: personas[1].name \"Walter\" is also the name of personas[0]",
		"c.json:4:73: error: personas[1].archetype is empty",
		"c.json:4:93: error: personas[1].systemPrompt is 10 characters long",
	}
	if len(diags) != len(want) {
		t.Fatalf("%d diagnostics, want %d:\n%v", len(diags), len(want), diags)
	}
	for i, d := range diags {
		if !strings.HasPrefix(d.String(), want[i]) {
			t.Errorf("diagnostic %d = %s\nwant prefix      %s", i, d, want[i])
		}
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jsonPath := write("catalog.json", onePersona)
	yamlPath := write("catalog.yaml", onePersonaYAML)
	for _, p := range []string{jsonPath, yamlPath} {
		cat, err := Load(p, Options{})
		if err != nil {
			t.Fatalf("Load(%s): %v", p, err)
		}
		if cat.Path != p || !reflect.DeepEqual(cat.Personas, []Persona{nora()}) {
			t.Errorf("Load(%s) = %+v", p, cat)
		}
	}

	t.Run("YAML by Format whatever the extension", func(t *testing.T) {
		if _, err := Load(write("catalog.txt", onePersonaYAML), Options{Format: "yaml"}); err != nil {
			t.Error(err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.json"), Options{})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no such file or directory; pass --catalog=PATH or set PERSONACTL_CATALOG") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, err := Load(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "is a directory; pass --catalog=PATH") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("over the size limit, refused before reading", func(t *testing.T) {
		p := filepath.Join(dir, "huge.json")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		// A sparse file: its size is known without writing 32 MiB.
		if err := f.Truncate(MaxSize + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, err = Load(p, Options{})
		if d := errorsOf(t, err); len(d) != 1 || d[0].File != p || !strings.Contains(d[0].Message, "larger than 32 MiB") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if _, err := Load(jsonPath, Options{Format: "toml"}); err == nil || !strings.Contains(err.Error(), `unknown catalog format "toml"; use json or yaml`) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestLoadStdin(t *testing.T) {
	cat, err := Load("-", Options{Stdin: strings.NewReader(onePersona)})
	if err != nil {
		t.Fatal(err)
	}
	if cat.Path != "-" || len(cat.Personas) != 1 {
		t.Errorf("catalog = %+v", cat)
	}

	_, err = Load("-", Options{Stdin: strings.NewReader(onePersonaYAML)})
	if d := errorsOf(t, err); d[0].File != "<stdin>" || !strings.Contains(d[0].Message, "looks like YAML") {
		t.Errorf("YAML on standard input without Format: %v", err)
	}
	if _, err := Load("-", Options{Stdin: strings.NewReader(onePersonaYAML), Format: "yaml"}); err != nil {
		t.Errorf("YAML on standard input with Format: %v", err)
	}

	// An endless input is cut off after MaxSize, not read into memory.
	_, err = Load("-", Options{Stdin: endless{}})
	if d := errorsOf(t, err); len(d) != 1 || !strings.Contains(d[0].Message, "larger than 32 MiB") {
		t.Errorf("endless input: %v", err)
	}
}

// endless is an input that never ends, like /dev/zero given as a catalog.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

var _ io.Reader = endless{}

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{File: "c.json", Line: 3, Col: 7, Message: "m"}, "c.json:3:7: error: m"},
		{Diagnostic{File: "c.yaml", Line: 3, Message: "m"}, "c.yaml:3: error: m"},
		{Diagnostic{File: "c.json", Severity: SeverityWarning, Message: "m"}, "c.json: warning: m"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ got, want string }{
		{"sytemPrompt", "systemPrompt"},
		{"SystemPrompt", "systemPrompt"},
		{"system_prompt", "systemPrompt"},
		{"prompt", "systemPrompt"},
		{"emial", "email"},
		{"mail", "email"},
		{"nmae", "name"},
		{"cadence", "tickCadence"},
		{"modulemix", "moduleMix"},
		{"colour", ""},
		{"id", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.got, personaFields[:]); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}

// TestPositionsCountCharacters checks that columns count characters, as
// editors do, not bytes.
func TestPositionsCountCharacters(t *testing.T) {
	// "Zoë Øster-Ångström" is 18 characters in 22 bytes.
	input := twoPersonas(personaLine("Jürgen", "persona.juergen@mana.test"), personaLine("Zoë Øster-Ångström", "bad"))
	for _, format := range []string{"json", "yaml"} {
		_, err := Parse("c", []byte(input), Options{Format: format})
		d := errorsOf(t, err)
		if len(d) != 1 || d[0].Line != 4 || d[0].Col != 45 {
			t.Errorf("as %s: diagnostics = %v, want one at 4:45", format, d)
		}
	}
}

// TestPositionsCountLineBreaksAsEditorsDo checks that a line ends at a
// line feed, a carriage return and line feed (Windows), or a carriage
// return alone (old Mac files), in both formats, as editors and yaml.v3
// count lines.
func TestPositionsCountLineBreaksAsEditorsDo(t *testing.T) {
	input := twoPersonas(personaLine("Jürgen", "persona.juergen@mana.test"), personaLine("Zoë Øster-Ångström", "bad"))
	for _, lineBreak := range []string{"\n", "\r\n", "\r"} {
		for _, format := range []string{"json", "yaml"} {
			_, err := Parse("c", []byte(strings.ReplaceAll(input, "\n", lineBreak)), Options{Format: format})
			d := errorsOf(t, err)
			if len(d) != 1 || d[0].Line != 4 || d[0].Col != 45 {
				t.Errorf("as %s with %q: diagnostics = %v, want one at 4:45", format, lineBreak, d)
			}
		}
	}
	// A bidi control after lines ending in a carriage return alone is
	// found where it is.
	bidi := strings.ReplaceAll(with(4, "\"name\": \"No\u202Era\","), "\n", "\r")
	for _, format := range []string{"json", "yaml"} {
		_, err := Parse("c", []byte(bidi), Options{Format: format})
		if d := errorsOf(t, err); len(d) != 1 || d[0].Line != 4 || d[0].Col != 18 {
			t.Errorf("as %s: diagnostics = %v, want one at 4:18", format, d)
		}
	}
}

// TestYAMLAliasesAndMergeKeys checks that YAML's ways of not repeating
// oneself mean what YAML says they mean.
func TestYAMLAliasesAndMergeKeys(t *testing.T) {
	const input = `personas:
  - &nora
    name: Nora
    email: persona.nora@mana.test
    archetype: night-nurse
    systemPrompt: You are Nora, 41, a night-shift nurse.
    moduleMix: &mix {journal: 0.5, mood: 0.5}
  - <<: *nora
    name: Nina
    email: persona.nina@mana.test
    tickCadence: hourly
  - name: Ned
    email: persona.ned@mana.test
    archetype: night-porter
    systemPrompt: You are Ned, a night porter at the same hospital.
    moduleMix: *mix
`
	cat, err := Parse("c.yaml", []byte(input), Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	nina := nora()
	nina.Name, nina.Email, nina.TickCadence = "Nina", "persona.nina@mana.test", "hourly"
	ned := Persona{Name: "Ned", Email: "persona.ned@mana.test", Archetype: "night-porter",
		SystemPrompt: "You are Ned, a night porter at the same hospital.", ModuleMix: nora().ModuleMix, TickCadence: "daily"}
	if want := []Persona{nora(), nina, ned}; !reflect.DeepEqual(cat.Personas, want) {
		t.Errorf("personas =\n%+v\nwant\n%+v", cat.Personas, want)
	}

	// Mistakes in what an alias expands to are reported where it is used.
	bad := strings.Replace(input, "moduleMix: *mix", "moduleMix: *nora", 1)
	_, err = Parse("c.yaml", []byte(bad), Options{})
	d := errorsOf(t, err)
	if len(d) != 5 || !strings.Contains(d[0].Message, "personas[2].moduleMix.name must be a number") {
		t.Errorf("diagnostics = %v", d)
	}
	for _, d := range d {
		if d.Line != 16 || d.Col != 16 {
			t.Errorf("%s is not where the alias is used, 16:16", d)
		}
	}
}
