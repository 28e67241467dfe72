package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// scenario is one situation a reviewer reads a plan in.
type scenario struct {
	name string
	in   Input
	opts Options
}

func longPrompt() (string, string) {
	words := strings.Fields("Du bist Lena, 38, Co-Founder im selben Unternehmen wie Marcus. Du teilst dir mit Marcus einen Team-Space für Projekt-Notizen und gemeinsame Termine. Privater Stil: ruhig, reflektierend, mehr Journal als Marcus.")
	var b strings.Builder
	for i := 0; b.Len() < 5000; i++ {
		b.WriteString(words[i%len(words)])
		b.WriteByte(' ')
	}
	before := strings.TrimSpace(b.String())[:5000]
	mid := strings.Index(before[2500:], "ruhig") + 2500
	after := before[:mid] + "gelassen" + before[mid+len("ruhig"):]
	return before, after
}

func scenarios() []scenario {
	ben := persona("persona.ben@mana.test", "Du bist Ben, 24, Mitbewohner von Anna, ebenfalls ADHS.")
	benEdited := with(ben, func(p *catalog.Persona) {
		p.SystemPrompt = "Du bist Ben, 25, Mitbewohner von Anna und Lena, ebenfalls ADHS."
		p.ModuleMix = map[string]float64{"todo": 0.4, "calendar": 0.3, "journal": 0.3}
		p.TickCadence = "weekdays"
	})
	zoe := persona("persönlich.zoë@mana.test", "Du bist Zoë — 🌱 Gärtnerin, schreibt „poetisch“ und mit Emojis 🌼.")
	zoeEdited := with(zoe, func(p *catalog.Persona) {
		p.SystemPrompt = "Du bist Zoë — 🌻 Gärtnerin, schreibt „poetisch“ und mit Emojis 🌼."
	})
	lenaBefore, lenaAfter := longPrompt()
	lena := persona("persona.lena@mana.test", lenaBefore)
	lenaEdited := with(lena, func(p *catalog.Persona) { p.SystemPrompt = lenaAfter })
	extra := persona("persona.extra@mana.test", "Du bist nicht im Katalog, aber live.")
	gone := persona("persona.gone@mana.test", "Du wurdest von Hand gelöscht.")
	renamed := with(anna, func(p *catalog.Persona) { p.Name = "Anna Maria" })
	list := []scenario{
		{"create", Input{Desired: []catalog.Persona{anna, ben}, Workspace: "default"}, Options{}},
		{"no-changes", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Workspace: "default", Lineage: "L", Serial: 2}, Options{}},
		{"update", Input{Desired: []catalog.Persona{benEdited}, Recorded: []state.RecordedPersona{rec("u2", ben)}, Live: []state.LivePersona{live("u2", ben)}, Workspace: "default", Lineage: "L", Serial: 2}, Options{}},
		{"drift", Input{
			Desired:   []catalog.Persona{annaEdited, anna2(), gone},
			Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u3", anna2()), rec("u4", gone)},
			Live:      []state.LivePersona{live("u1", annaHand), live("u3", with(anna2(), func(p *catalog.Persona) { p.Archetype = "changed-by-hand" })), live("u5", extra)},
			Workspace: "staging", Lineage: "L", Serial: 5,
		}, Options{}},
		{"delete-forget-prune", Input{
			Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u4", gone)},
			Live:      []state.LivePersona{live("u1", anna), live("u5", extra)},
			Workspace: "default", Lineage: "L", Serial: 5,
		}, Options{Prune: true}},
		{"rename-warning", Input{Desired: []catalog.Persona{renamed}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Workspace: "default", Lineage: "L", Serial: 1}, Options{}},
		{"replace", Input{Desired: []catalog.Persona{renamed}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Workspace: "default", Lineage: "L", Serial: 1}, Options{Replace: []string{anna.Email}}},
		{"destroy", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna), rec("u4", gone)}, Live: []state.LivePersona{live("u1", anna), live("u5", extra)}, Workspace: "default", Lineage: "L", Serial: 7}, Options{Destroy: true}},
		{"destroy-all", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna), rec("u4", gone)}, Live: []state.LivePersona{live("u1", anna), live("u5", extra)}, Workspace: "default", Lineage: "L", Serial: 7}, Options{Destroy: true, All: true}},
		{"refresh-only", Input{
			Desired:   []catalog.Persona{annaEdited},
			Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u4", gone)},
			Live:      []state.LivePersona{live("u1", annaHand), live("u5", extra)},
			Workspace: "default", Lineage: "L", Serial: 3,
		}, Options{RefreshOnly: true}},
		{"unicode-prompt", Input{Desired: []catalog.Persona{zoeEdited}, Recorded: []state.RecordedPersona{rec("u6", zoe)}, Live: []state.LivePersona{live("u6", zoe)}, Workspace: "default", Lineage: "L", Serial: 1}, Options{}},
		{"long-prompt-one-word", Input{Desired: []catalog.Persona{lenaEdited}, Recorded: []state.RecordedPersona{rec("u7", lena)}, Live: []state.LivePersona{live("u7", lena)}, Workspace: "default", Lineage: "L", Serial: 1}, Options{}},
		{"address-taken", Input{Desired: []catalog.Persona{anna}, Taken: []string{anna.Email}, Workspace: "default"}, Options{}},
		{"unfinished-create", Input{
			Desired:    []catalog.Persona{anna, ben},
			Unfinished: map[string]Unfinished{anna.Email: {Run: "the interrupted apply of 2026-04-22T10:11:12Z (journal 0a1b2c3d)", UserID: "u9"}},
			Workspace:  "default",
		}, Options{}},
		{"address-undetermined", Input{
			Desired:      []catalog.Persona{anna, ben},
			Recorded:     []state.RecordedPersona{rec("u1", anna)},
			Undetermined: []string{anna.Email, ben.Email},
			Workspace:    "default", Lineage: "L", Serial: 4,
		}, Options{}},
		{"address-undetermined-replace", Input{
			Desired:      []catalog.Persona{anna},
			Recorded:     []state.RecordedPersona{rec("u1", anna)},
			Undetermined: []string{anna.Email},
			Workspace:    "default", Lineage: "L", Serial: 4,
		}, Options{Replace: []string{anna.Email}}},
		{"target", Input{
			Desired:   []catalog.Persona{annaEdited, ben, anna2()},
			Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u3", anna2())},
			Live:      []state.LivePersona{live("u1", anna), live("u3", anna2())},
			Workspace: "default", Lineage: "L", Serial: 2,
		}, Options{Targets: []string{anna.Email, "persona.nobody@mana.test"}}},
		{"target-destroy", Input{
			Desired:   []catalog.Persona{anna, anna2()},
			Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u3", anna2())},
			Live:      []state.LivePersona{live("u1", anna), live("u3", anna2())},
			Workspace: "default", Lineage: "L", Serial: 2,
		}, Options{Destroy: true, Targets: []string{anna2().Email}}},
		{"attention-beside-changes", Input{
			Desired:   []catalog.Persona{renamed, ben},
			Recorded:  []state.RecordedPersona{rec("u1", anna)},
			Live:      []state.LivePersona{live("u1", anna)},
			Workspace: "default", Lineage: "L", Serial: 1,
		}, Options{}},
		{"credentials", Input{
			Desired: []catalog.Persona{anna, ben, anna2()},
			Recorded: []state.RecordedPersona{
				withCredentials(rec("u1", anna), "fp-old"),
				withCredentials(rec("u2", ben), ""),
				withCredentials(rec("u3", anna2()), "fp-old"),
			},
			Live:      []state.LivePersona{live("u1", anna), live("u2", ben), live("u3", with(anna2(), func(p *catalog.Persona) { p.TickCadence = "hourly" }))},
			Workspace: "default", Lineage: "L", Serial: 6,
		}, Options{}},
		{"credentials-refresh-only", Input{
			Desired:   []catalog.Persona{anna},
			Recorded:  []state.RecordedPersona{withCredentials(rec("u1", anna), "fp-old")},
			Live:      []state.LivePersona{live("u1", anna)},
			Workspace: "default", Lineage: "L", Serial: 6,
		}, Options{RefreshOnly: true}},
		{"credentials-not-checked", Input{
			Desired:   []catalog.Persona{anna, ben},
			Recorded:  []state.RecordedPersona{withCredentials(rec("u1", anna), "fp-old")},
			Live:      []state.LivePersona{live("u1", anna)},
			Workspace: "default", Lineage: "L", Serial: 6,
		}, Options{}},
		{"deleted-by-interrupted-run", Input{
			Desired:     []catalog.Persona{anna},
			Recorded:    []state.RecordedPersona{rec("u1", anna), rec("u4", gone)},
			Interrupted: map[string]string{anna.Email: interruptedRun, gone.Email: interruptedRun},
			Workspace:   "default", Lineage: "L", Serial: 8,
		}, Options{}},
		{"live-unreadable", Input{
			Desired:   []catalog.Persona{anna, benEdited},
			Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u2", ben)},
			Live:      []state.LivePersona{unreadable("u1", anna.Email), live("u2", ben)},
			Workspace: "default", Lineage: "L", Serial: 3,
		}, Options{}},
		hostileScenario(),
	}
	for i := range list {
		// Most scenarios run with a seed secret in effect, as apply does;
		// credentials-not-checked shows a run without one.
		if list[i].name != "credentials-not-checked" {
			list[i].in.Secret = currentSecret
			list[i].in.SameSecret = map[string]bool{"fp-old": false}
		}
	}
	return list
}

const interruptedRun = "the interrupted destroy of 2026-11-29T10:00:00Z (journal 1a2b3c4d)"

func withCredentials(r state.RecordedPersona, fingerprint string) state.RecordedPersona {
	r.Credentials = fingerprint
	return r
}

func anna2() catalog.Persona {
	return persona("persona.mia@mana.test", "Du bist Mia, 31, Pflegerin im Nachtdienst.")
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./plan -update to create it", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./plan -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestRenderingsMatchGoldenFiles(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			p := Compute(sc.in, sc.opts)
			var text, color, js, md bytes.Buffer
			if err := RenderText(&text, p, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := RenderText(&color, p, TextOptions{Color: true}); err != nil {
				t.Fatal(err)
			}
			if err := RenderJSON(&js, p); err != nil {
				t.Fatal(err)
			}
			if err := RenderMarkdown(&md, p, MarkdownOptions{}); err != nil {
				t.Fatal(err)
			}
			// The compact rendering is the same document on one line.
			var compact, want bytes.Buffer
			if err := RenderJSONCompact(&compact, p); err != nil {
				t.Fatal(err)
			}
			if err := json.Compact(&want, js.Bytes()); err != nil {
				t.Fatal(err)
			}
			if got := bytes.TrimSuffix(compact.Bytes(), []byte("\n")); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("RenderJSONCompact differs from RenderJSON compacted:\n%s\n%s", got, want.Bytes())
			}
			golden(t, sc.name+".txt", text.Bytes())
			golden(t, sc.name+".color.txt", color.Bytes())
			golden(t, sc.name+".json", js.Bytes())
			golden(t, sc.name+".md", md.Bytes())
			if bytes.Contains(text.Bytes(), []byte("\x1b[")) {
				t.Error("text without colour holds ANSI escapes")
			}
			if !json.Valid(js.Bytes()) {
				t.Error("JSON rendering is not valid JSON")
			}
		})
	}
}

func TestLongPromptIsNeverPrintedWhole(t *testing.T) {
	before, after := longPrompt()
	lena := persona("persona.lena@mana.test", before)
	p := Compute(Input{Desired: []catalog.Persona{with(lena, func(p *catalog.Persona) { p.SystemPrompt = after })}, Live: []state.LivePersona{live("u7", lena)}}, Options{})
	var text bytes.Buffer
	if err := RenderText(&text, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if !strings.Contains(out, "[-ruhig-]{+gelassen+}") {
		t.Errorf("the one changed word is not shown as a word diff:\n%s", out)
	}
	if len(out) > 1000 {
		t.Errorf("a one-word change in a 5,000-character prompt renders as %d characters", len(out))
	}
}

func TestMarkdownStaysUnderTheCommentLimit(t *testing.T) {
	var desired []catalog.Persona
	var lives []state.LivePersona
	var recorded []state.RecordedPersona
	for i := 0; i < 3000; i++ {
		email := "persona.p" + itoa(i) + "@mana.test"
		before := persona(email, strings.Repeat("Ein langer Prompt mit vielen Wörtern. ", 40))
		after := with(before, func(p *catalog.Persona) { p.SystemPrompt += " Neu." })
		desired = append(desired, after)
		lives = append(lives, live("u"+itoa(i), before))
		recorded = append(recorded, rec("u"+itoa(i), before))
	}
	for i := 0; i < 200; i++ {
		email := "persona.old" + itoa(i) + "@mana.test"
		old := persona(email, "Du wirst gelöscht, weil du nicht mehr im Katalog stehst.")
		lives = append(lives, live("o"+itoa(i), old))
		recorded = append(recorded, rec("o"+itoa(i), old))
	}
	p := Compute(Input{Desired: desired, Recorded: recorded, Live: lives, Workspace: "default"}, Options{})
	var md bytes.Buffer
	if err := RenderMarkdown(&md, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	if n := len([]rune(out)); n > CommentLimit {
		t.Fatalf("comment has %d characters, over GitHub's %d", n, CommentLimit)
	}
	if !strings.Contains(out, SummaryLine(p)) {
		t.Error("the summary line was cut")
	}
	for i := 0; i < 200; i++ {
		if !strings.Contains(out, "`persona.old"+itoa(i)+"@mana.test`") {
			t.Fatalf("deletion of persona.old%d@mana.test is missing from the comment:\n%.2000s", i, out)
		}
	}
	if !strings.Contains(out, "comment size limit") {
		t.Error("the cut is not explained")
	}
	if !strings.HasPrefix(out, MarkerPrefix+" workspace=default sha256="+p.ChangesDigest()) {
		t.Error("the comment does not start with the bot marker")
	}
}

func TestSavedPlanRoundTripsThroughJSON(t *testing.T) {
	for _, sc := range scenarios() {
		p := Compute(sc.in, sc.opts)
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Plan
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		var a1, a2 bytes.Buffer
		_ = RenderText(&a1, p, TextOptions{})
		_ = RenderText(&a2, &back, TextOptions{})
		if a1.String() != a2.String() {
			t.Errorf("%s: a plan read back renders differently:\n%s\n---\n%s", sc.name, a1.String(), a2.String())
		}
		if back.Hash() != p.Hash() {
			t.Errorf("%s: hash changed in a round trip", sc.name)
		}
	}
}

func TestRenderByFormatName(t *testing.T) {
	s := scenarios()[0]
	p := Compute(s.in, s.opts)
	for _, tt := range []struct {
		format string
		want   func(*bytes.Buffer) error
	}{
		{"", func(b *bytes.Buffer) error { return RenderText(b, p, TextOptions{}) }},
		{"text", func(b *bytes.Buffer) error { return RenderText(b, p, TextOptions{}) }},
		{"github", func(b *bytes.Buffer) error { return RenderText(b, p, TextOptions{}) }},
		{"json", func(b *bytes.Buffer) error { return RenderJSON(b, p) }},
		{"markdown", func(b *bytes.Buffer) error { return RenderMarkdown(b, p, MarkdownOptions{}) }},
	} {
		var got, want bytes.Buffer
		if err := Render(&got, p, tt.format, false); err != nil {
			t.Fatalf("Render(%q): %v", tt.format, err)
		}
		if err := tt.want(&want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || got.Len() == 0 {
			t.Errorf("Render(%q) differs from its renderer's output", tt.format)
		}
	}
	var colored, plain bytes.Buffer
	if err := Render(&colored, p, "text", true); err != nil {
		t.Fatal(err)
	}
	if err := Render(&plain, p, "text", false); err != nil {
		t.Fatal(err)
	}
	if colored.String() == plain.String() {
		t.Error("Render with colour prints what it prints without")
	}
	if err := Render(&plain, p, "yaml", false); err == nil || !strings.Contains(err.Error(), `unknown plan format "yaml"`) {
		t.Errorf("Render(yaml) = %v, want an error naming the format", err)
	}
}

// TestJSONOptionsCarryEveryKey: the JSON document's options hold every
// documented key whatever the plan, false and [] included, so that a
// script reads `.options.targets` rather than testing for its absence.
func TestJSONOptionsCarryEveryKey(t *testing.T) {
	for _, opts := range []Options{{}, {Destroy: true, All: true, Targets: []string{"a@mana.test"}}, {Replace: []string{"b@mana.test"}}} {
		var b bytes.Buffer
		if err := RenderJSON(&b, Compute(Input{Desired: []catalog.Persona{anna}}, opts)); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Options map[string]json.RawMessage `json:"options"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for key, empty := range map[string]string{"destroy": "false", "all": "false", "refresh_only": "false", "prune": "false", "replace": "[]", "targets": "[]"} {
			v, ok := doc.Options[key]
			if !ok {
				t.Errorf("options %+v: the JSON options lack %q: %s", opts, key, b.Bytes()[:min(200, b.Len())])
				continue
			}
			if string(v) == "null" || (string(v) != empty && strings.Trim(string(v), "[]") == "") {
				t.Errorf("options %+v: %q is %s, want %s or a value", opts, key, v, empty)
			}
		}
		if len(doc.Options) != 6 {
			t.Errorf("options %+v: %d keys in the JSON options, want the 6 documented", opts, len(doc.Options))
		}
	}
}
