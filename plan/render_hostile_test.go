package plan

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// hostileText is what a server could hold in any value: escape sequences
// that clear the screen and print a fake success, a line break that starts
// a heading, HTML, both ends of an HTML comment, a table cell break and a
// bidi override.
const hostileText = "\x1b[2J\x1b[31mApply complete!\r\n## heading <img src=x onerror=alert(1)> <!-- | --> \u202e"

// hostileScenario is a plan whose every outside value is hostile: a
// catalog persona whose name is HTML and whose prompt holds a code fence
// and a forged bot marker; live, the same persona changed by hand with
// hostile values (a name, an archetype, a module key), and an unmanaged
// persona, pruned, whose address and user id are hostile.
func hostileScenario() scenario {
	bold := with(persona("persona.bold@mana.test", "Du bist <b>fett</b>.\n```\n<!-- personactl-plan workspace=default sha256=forged -->\n-->\n## heading"), func(p *catalog.Persona) {
		p.Name = "<b>bold</b>"
	})
	boldLive := with(bold, func(p *catalog.Persona) {
		p.Name = hostileText
		p.Archetype = hostileText
		p.SystemPrompt = "Du bist dünn."
		p.ModuleMix[hostileText] = 0.25
	})
	evil := persona("persona.evil@mana.test", "Du bist böse.")
	evil.Email = "evil" + hostileText + "@mana.test"
	evilLive := live("u9"+hostileText, evil)
	return scenario{"hostile", Input{
		Desired:   []catalog.Persona{bold},
		Recorded:  []state.RecordedPersona{rec("u1", bold)},
		Live:      []state.LivePersona{live("u1", boldLive), evilLive},
		Workspace: "default", Lineage: "L", Serial: 3, SecretFingerprint: currentSecret,
	}, Options{Prune: true}}
}

// activeRune returns the first character of s that acts on a terminal or
// reorders text, other than a line feed, or -1.
func activeRune(s string) rune {
	for _, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7F || (0x80 <= r && r <= 0x9F) || (0x202A <= r && r <= 0x202E) || (0x2066 <= r && r <= 0x2069) {
			return r
		}
	}
	return -1
}

// TestHostileTextIsNeutralisedInEveryRendering: on a terminal nothing from
// the catalog or live acts (only personactl's own colours are escape
// sequences); in the pull-request comment nothing from them becomes HTML,
// a heading, a table row or an HTML comment: the marker stays the one.
func TestHostileTextIsNeutralisedInEveryRendering(t *testing.T) {
	sc := hostileScenario()
	p := Compute(sc.in, sc.opts)
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := RenderText(&b, p, TextOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, own := range []string{ansiReset, ansiBold, ansiRed, ansiGreen, ansiYellow, ansiCyan} {
			out = strings.ReplaceAll(out, own, "")
		}
		if r := activeRune(out); r >= 0 {
			t.Errorf("text (colour %v) holds %U:\n%s", color, r, b.String())
		}
		if !strings.Contains(out, `\x1b[2J\x1b[31mApply complete!\r\n## heading`) {
			t.Errorf("text (colour %v) does not show the hostile text escaped:\n%s", color, out)
		}
	}

	var b bytes.Buffer
	if err := RenderMarkdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if r := activeRune(md); r >= 0 {
		t.Errorf("the comment holds %U:\n%s", r, md)
	}
	if n, m := strings.Count(md, "<!--"), strings.Count(md, "-->"); n != 1 || m != 1 || !strings.HasPrefix(md, MarkerPrefix+" workspace=default sha256="+p.ChangesDigest()+" -->\n") {
		t.Errorf("the comment holds %d HTML comment starts and %d ends; want only the marker's:\n%s", n, m, md)
	}
	// Outside code blocks: no HTML but personactl's own tags, no heading
	// but the title, and one table row per change shown.
	own := strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "", "<code>", "", "</code>", "", "<sub>", "", "</sub>", "")
	lines := strings.Split(md, "\n")
	rows, blocks, fence := 0, 0, ""
	for i, l := range lines[1:] { // the first line is the marker
		n := i + 2
		switch {
		case fence != "":
			if l == fence {
				fence = ""
			}
			continue
		case strings.HasPrefix(l, "```"):
			fence = strings.TrimRight(l, "diff")
			blocks++
			continue
		}
		if rest := own.Replace(strings.TrimPrefix(l, "> ")); strings.ContainsAny(rest, "<>") {
			t.Errorf("line %d holds raw HTML from the plan's values: %s", n, l)
		}
		switch {
		case strings.HasPrefix(l, "#") && n != 2, strings.HasPrefix(l, "> #"):
			t.Errorf("line %d is a heading: %s", n, l)
		case strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| | persona |"):
			rows++
			if cells := strings.Count(l, "|") - strings.Count(l, `\|`); cells != 6 {
				t.Errorf("table row %q has %d cell separators, want 6", l, cells)
			}
		}
	}
	want := len(shownChanges(p))
	if rows != want || blocks != want || fence != "" {
		t.Errorf("the comment has %d table rows and %d code blocks (the last one open: %v), want %d of each:\n%s", rows, blocks, fence != "", want, md)
	}
}

// TestWorkspaceCannotForgeTheMarker: a workspace name of HTML comment ends,
// backticks and a line break stays inside the marker and the title.
func TestWorkspaceCannotForgeTheMarker(t *testing.T) {
	sc := scenarios()[0]
	sc.in.Workspace = "x` --> <!-- personactl-plan workspace=prod -->\n## heading"
	p := Compute(sc.in, sc.opts)
	var b bytes.Buffer
	if err := RenderMarkdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if n, m := strings.Count(md, "<!--"), strings.Count(md, "-->"); n != 1 || m != 1 {
		t.Errorf("the comment holds %d HTML comment starts and %d ends; want only the marker's:\n%s", n, m, md)
	}
	if lines := strings.SplitN(md, "\n", 3); !strings.HasPrefix(lines[0], MarkerPrefix) || !strings.HasSuffix(lines[0], " -->") || !strings.HasPrefix(lines[1], "### personactl plan (workspace ") {
		t.Errorf("the marker and the title are not the first two lines:\n%s", md)
	}
}

// TestGuardsQuoteLiveAddressesEscaped: a refusal names the personas it
// would delete; a live address holding escape sequences and a line break
// is named escaped, on the refusal's own line.
func TestGuardsQuoteLiveAddressesEscaped(t *testing.T) {
	sc := hostileScenario()
	p := Compute(sc.in, sc.opts)
	err := p.CheckGuards(Guards{Limit: true, MaxDeletes: 0, Now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)})
	if err == nil {
		t.Fatal("the guards let a delete of an active persona through")
	}
	text := err.Error()
	if r := activeRune(text); r >= 0 {
		t.Errorf("the refusal holds %U:\n%s", r, text)
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "## heading") {
			t.Errorf("the refusal has a line of the server's: %q", l)
		}
	}
	if !strings.Contains(text, `evil\x1b[2J\x1b[31mApply complete!\r\n## heading`) {
		t.Errorf("the refusal does not name the address escaped:\n%s", text)
	}
}
