package catalog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The limits of the catalog format.
const (
	// emailDomain ends every persona address: the domain does not exist, so no
	// mail sent to a persona can reach a real person.
	emailDomain = "@mana.test"
	// minPromptLength is the fewest characters a systemPrompt may have.
	minPromptLength = 20
	// longPromptLength is the length above which a systemPrompt draws a warning.
	longPromptLength = 8000
	// mixSumTolerance is how far moduleMix weights may sum from 1 without a warning.
	mixSumTolerance = 0.01
	// maxLocalPartLength is the longest part before the @ that RFC 5321 allows.
	maxLocalPartLength = 64
)

// MaxUpsertBody is the most bytes a persona may take as the body that
// writes it to mana-auth: its fields and password, encoded as JSON. mana-auth
// stores more, but then answers the persona's detail (the persona with its
// recent actions) with more than the 4 MiB personactl reads of an answer,
// and no plan could read the persona back; 1 MiB leaves the detail room.
const MaxUpsertBody = 1 << 20

// The members the catalog object may have, as indexes into catalogFields.
const (
	catalogSchema = iota
	catalogDescription
	catalogPersonas
)

var catalogFields = [...]string{catalogSchema: "$schema", catalogDescription: "description", catalogPersonas: "personas"}

// The members a persona may have, as indexes into personaFields, in the
// order messages list them; every one but tickCadence is required.
const (
	memberName = iota
	memberEmail
	memberArchetype
	memberSystemPrompt
	memberModuleMix
	memberTickCadence
)

var personaFields = [...]string{
	memberName:         "name",
	memberEmail:        "email",
	memberArchetype:    "archetype",
	memberSystemPrompt: "systemPrompt",
	memberModuleMix:    "moduleMix",
	memberTickCadence:  "tickCadence",
}

// optionalFields may be left out, so a null there is better left out too.
var optionalFields = []string{"$schema", "description", "tickCadence"}

// validator checks a decoded tree against every rule of the catalog format,
// collecting all findings rather than stopping at the first.
type validator struct {
	file string
	// data is the file's text, to locate characters inside strings; nil
	// when the tree was not read from a file.
	data  []byte
	diags []Diagnostic
}

// validate returns the catalog root describes and every finding about it.
// The catalog is meaningful only when no finding is an error.
func validate(file string, data []byte, root *node) (*Catalog, []Diagnostic) {
	v := &validator{file: file, data: data}
	switch root.kind {
	case kindObject:
	case kindArray:
		v.errorf(root.pos, `the catalog must be an object with a "personas" array, found an array; wrap the list: {"personas": [...]}`)
		return nil, v.diags
	default:
		v.typeError(root, "", "the catalog", `an object with a "personas" array`)
		return nil, v.diags
	}
	cat := &Catalog{}
	var m [len(catalogFields)]*field
	v.members(root, "the catalog", catalogFields[:], m[:])
	if f := m[catalogSchema]; f != nil {
		cat.Schema, _ = v.str(&f.value, "", "$schema")
	}
	if f := m[catalogDescription]; f != nil {
		cat.Description, _ = v.str(&f.value, "", "description")
	}
	switch f := m[catalogPersonas]; {
	case f == nil:
		v.errorf(root.pos, `the catalog has no "personas"; add "personas": [...] with at least one persona`)
	case f.value.kind != kindArray:
		v.typeError(&f.value, "", "personas", "an array of personas")
	case len(f.value.items) == 0:
		v.errorf(f.value.pos, "personas is empty; add at least one persona")
	default:
		cat.Personas = v.personas(f.value.items)
	}
	return cat, v.diags
}

func (v *validator) report(sev Severity, p position, format string, args ...any) {
	v.diags = append(v.diags, Diagnostic{Severity: sev, File: v.file, Line: p.line, Col: p.col, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) errorf(p position, format string, args ...any) {
	v.report(SeverityError, p, format, args...)
}

func (v *validator) warnf(p position, format string, args ...any) {
	v.report(SeverityWarning, p, format, args...)
}

// path names a member for messages: "personas[2].email", or "$schema" at the top.
func path(where, name string) string {
	if where == "" {
		return name
	}
	return where + "." + name
}

// typeError reports a value of the wrong type; want says what it should be.
func (v *validator) typeError(n *node, where, name, want string) {
	switch {
	case n.kind == kindInvalid: // the decoder has said why
	case n.kind == kindNull && slices.Contains(optionalFields, name):
		v.errorf(n.pos, "%s must be %s, found null; leave the field out instead", path(where, name), want)
	default:
		v.errorf(n.pos, "%s must be %s, found %s", path(where, name), want, describe(n))
	}
}

// str returns n's value if it is a string and reports it otherwise.
func (v *validator) str(n *node, where, name string) (string, bool) {
	if n.kind != kindString {
		v.typeError(n, where, name, "a string")
		return "", false
	}
	return n.text, true
}

// members sets found[i] to obj's member named known[i], reporting every
// other key and every key given twice.
func (v *validator) members(obj *node, where string, known []string, found []*field) {
	for i := range obj.fields {
		f := &obj.fields[i]
		j := slices.Index(known, f.key)
		switch {
		case j < 0:
			if s := Suggest(f.key, known); s != "" {
				v.errorf(f.keyPos, "unknown field %q in %s; did you mean %q?", f.key, where, s)
			} else {
				v.errorf(f.keyPos, "unknown field %q in %s; the fields are %s", f.key, where, strings.Join(known, ", "))
			}
		case found[j] != nil:
			v.duplicate(f, found[j], where)
		default:
			found[j] = f
		}
	}
}

// duplicate reports a key given a second time.
func (v *validator) duplicate(f, first *field, where string) {
	v.errorf(f.keyPos, "%s has %q twice (first at line %d, column %d); remove one, since readers silently keep only one of them",
		where, f.key, first.keyPos.line, first.keyPos.col)
}

// seen is where a persona's email or name first appeared, for the rules that
// compare personas.
type seen struct {
	index int
	pos   position
}

func (v *validator) personas(items []node) []Persona {
	out := make([]Persona, 0, len(items))
	emails := make(map[string]seen, len(items))
	names := make(map[string]seen, len(items))
	for i := range items {
		p, email, name := v.persona("personas["+strconv.Itoa(i)+"]", &items[i])
		out = append(out, p)
		if email != nil && email.text != "" {
			// mana-auth treats addresses that differ only in case as one user.
			key := strings.ToLower(email.text)
			if first, dup := emails[key]; dup {
				v.errorf(email.pos, "personas[%d].email %q is also the address of personas[%d] (line %d, column %d); each persona needs an address of its own",
					i, email.text, first.index, first.pos.line, first.pos.col)
			} else {
				emails[key] = seen{i, email.pos}
			}
		}
		if name != nil && name.text != "" {
			if first, dup := names[name.text]; dup {
				v.warnf(name.pos, "personas[%d].name %q is also the name of personas[%d] (line %d, column %d); give each persona a name of its own so that people can tell them apart",
					i, name.text, first.index, first.pos.line, first.pos.col)
			} else {
				names[name.text] = seen{i, name.pos}
			}
		}
	}
	return out
}

// persona checks one persona and returns its values, with its email and name
// nodes when they are strings, for the rules that compare personas. where
// names it in messages ("personas[2]"), or is empty for a persona checked
// on its own.
func (v *validator) persona(where string, n *node) (p Persona, email, name *node) {
	if n.kind != kindObject {
		v.typeError(n, "", where, "an object")
		return p, nil, nil
	}
	var m [len(personaFields)]*field
	v.members(n, where, personaFields[:], m[:])
	for i, f := range m {
		if f == nil && i != memberTickCadence {
			v.errorf(n.pos, "%s has no %q; every persona needs name, email, archetype, systemPrompt and moduleMix", where, personaFields[i])
		}
	}
	if f := m[memberName]; f != nil {
		if s, ok := v.str(&f.value, where, "name"); ok {
			name = &f.value
			if s == "" {
				v.errorf(f.value.pos, "%s is empty; give the persona a name", path(where, "name"))
			}
			v.hidden(s, f.value.pos, f.value.lit, "name", func() string { return path(where, "name") })
			p.Name = s
		}
	}
	if f := m[memberEmail]; f != nil {
		if s, ok := v.str(&f.value, where, "email"); ok {
			email = &f.value
			if v.hidden(s, f.value.pos, f.value.lit, "email", func() string { return path(where, "email") }) {
				// The character says more than "not a valid address".
			} else if problem := emailProblem(s); problem != "" {
				v.errorf(f.value.pos, "%s %q %s", path(where, "email"), s, problem)
			}
			p.Email = s
		}
	}
	if f := m[memberArchetype]; f != nil {
		if s, ok := v.str(&f.value, where, "archetype"); ok {
			if s == "" {
				v.errorf(f.value.pos, `%s is empty; give the persona an archetype, such as "adhd-student"`, path(where, "archetype"))
			}
			v.hidden(s, f.value.pos, f.value.lit, "archetype", func() string { return path(where, "archetype") })
			p.Archetype = s
		}
	}
	if f := m[memberSystemPrompt]; f != nil {
		if s, ok := v.str(&f.value, where, "systemPrompt"); ok {
			switch length := utf8.RuneCountInString(s); {
			case length < minPromptLength:
				v.errorf(f.value.pos, "%s is %d characters long, fewer than %d; say who the persona is and how they write", path(where, "systemPrompt"), length, minPromptLength)
			case length > longPromptLength:
				v.warnf(f.value.pos, "%s is %d characters long, over %d; shorten it unless that length is intended", path(where, "systemPrompt"), length, longPromptLength)
			}
			v.hidden(s, f.value.pos, f.value.lit, "systemPrompt", func() string { return path(where, "systemPrompt") })
			p.SystemPrompt = s
		}
	}
	if f := m[memberModuleMix]; f != nil {
		p.ModuleMix = v.moduleMix(&f.value, where)
	}
	p.TickCadence = DefaultCadence
	if f := m[memberTickCadence]; f != nil {
		if s, ok := v.str(&f.value, where, "tickCadence"); ok {
			if slices.Contains(cadences, s) {
				p.TickCadence = s
			} else {
				hint := "use one of them, or leave the field out for " + DefaultCadence
				if guess := Suggest(s, cadences); guess != "" {
					hint = fmt.Sprintf("did you mean %q?", guess)
				}
				v.errorf(f.value.pos, "%s is %q, not one of %s; %s", path(where, "tickCadence"), s, strings.Join(cadences, ", "), hint)
			}
		}
	}
	if size, over := upsertSize(p); over {
		at := n.pos
		if f := m[memberSystemPrompt]; f != nil {
			at = f.value.pos
		}
		who := cmp.Or(where, "the persona")
		v.errorf(at, "%s takes %d bytes as the body that writes it to mana-auth (its fields and password as JSON), over the limit of %d (1 MiB): mana-auth would store it, but its detail answer could then exceed the 4 MiB personactl reads, and no plan could read it back; shorten its systemPrompt", who, size, MaxUpsertBody)
	}
	return p, email, name
}

// upsertSize returns the length of the upsert body that writes p, and
// whether it is over MaxUpsertBody. Only a persona that escaping could
// bring near the limit is encoded.
func upsertSize(p Persona) (int, bool) {
	text := len(p.Name) + len(p.Email) + len(p.Archetype) + len(p.SystemPrompt) + len(p.TickCadence)
	for k := range p.ModuleMix {
		text += len(k) + 32 // a key's quotes and colon, a number, a comma
	}
	// encoding/json writes a byte as at most 6 ("\u003c").
	if 6*text+256 <= MaxUpsertBody {
		return 0, false
	}
	// The body's members are the persona's, as catalog.Persona's tags
	// spell them, and the password.
	b, err := json.Marshal(p)
	if err != nil {
		return 0, false // a weight that is not finite, reported on its own
	}
	size := len(b) + len(`,"password":""`) + passwordLength
	return size, size > MaxUpsertBody
}

// moduleMix checks a persona's weights and returns them.
func (v *validator) moduleMix(n *node, where string) map[string]float64 {
	if n.kind != kindObject {
		v.typeError(n, where, "moduleMix", "an object of module names to weights")
		return nil
	}
	where = path(where, "moduleMix")
	if len(n.fields) == 0 {
		v.errorf(n.pos, `%s is empty, so the runner would have nothing to do; give at least one module a weight, as in {"todo": 1}`, where)
		return nil
	}
	// mix holds every module's first weight, valid or not, to find modules
	// named twice; it is used only when every weight is valid.
	mix := make(map[string]float64, len(n.fields))
	valid := true
	var sum float64
	for i := range n.fields {
		f := &n.fields[i]
		if _, dup := mix[f.key]; dup {
			first := slices.IndexFunc(n.fields, func(g field) bool { return g.key == f.key })
			v.duplicate(f, &n.fields[first], where)
			valid = false
			continue
		}
		w := &f.value
		mix[f.key] = w.number
		switch {
		case f.key == "":
			v.errorf(f.keyPos, "%s has a module with an empty name; name the module", where)
		case v.hidden(f.key, f.keyPos, f.keyLit, "moduleMix", func() string { return fmt.Sprintf("%s key %q", where, f.key) }):
		case w.kind != kindNumber:
			v.typeError(w, where, f.key, "a number")
		case math.IsInf(w.number, 0) || math.IsNaN(w.number):
			v.errorf(w.pos, "%s is %s, not a finite number; use a weight between 0 and 1", path(where, f.key), w.text)
		case w.number < 0:
			v.errorf(w.pos, "%s is %s; weights must be 0 or more", path(where, f.key), w.text)
		default:
			sum += w.number
			continue
		}
		valid = false
	}
	switch {
	case !valid:
	case sum == 0:
		v.errorf(n.pos, "every weight in %s is 0, so the runner would have nothing to do; give at least one module a weight above 0", where)
	case math.Abs(sum-1) > mixSumTolerance:
		v.warnf(n.pos, "the weights in %s sum to %s, not 1; scale them so that they add up to 1", where, strconv.FormatFloat(sum, 'g', 4, 64))
	}
	return mix
}

// emailProblem says what is wrong with a persona's address, or returns "".
func emailProblem(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 || !validLocalPart(s[:at]) {
		return "is not a valid email address; write it as name@mana.test, with letters, digits and . _ + - ' before the @"
	}
	local, domain := s[:at], s[at:]
	if len(local) > maxLocalPartLength {
		return fmt.Sprintf("has %d characters before the @, more than the %d an address may have; shorten it", len(local), maxLocalPartLength)
	}
	if !strings.EqualFold(domain, emailDomain) {
		return fmt.Sprintf("does not end in %s, a domain that does not exist, so that no mail can reach a real person; write %q",
			emailDomain, strings.ToLower(local)+emailDomain)
	}
	if lower := strings.ToLower(s); s != lower {
		return fmt.Sprintf("has capitals; mana-auth stores addresses lowercased but matches them verbatim on upsert, so every run after the first would fail and lock the persona-runner out; write %q", lower)
	}
	return ""
}

// validLocalPart reports whether s is dot-separated non-empty runs of ASCII
// letters, digits and _ + - ' (the same as the schema's email pattern, where
// the letters are lowercase).
func validLocalPart(s string) bool {
	if s == "" {
		return false
	}
	for atom := range strings.SplitSeq(s, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			c := atom[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_+-'", c) >= 0) {
				return false
			}
		}
	}
	return true
}
