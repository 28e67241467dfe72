package kongdoc

import (
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

type detailsCLI struct {
	Build struct {
		Fast struct{} `cmd:""`
	} `cmd:""`
	Ship struct{} `cmd:""`
}

func detailsModel(t *testing.T) *kong.Application {
	t.Helper()
	var cli detailsCLI
	p, err := kong.New(&cli, kong.Name("tool"))
	if err != nil {
		t.Fatal(err)
	}
	return p.Model
}

func TestSetDetails(t *testing.T) {
	m := detailsModel(t)
	text := "== tool\nExamples:\n\n    tool build\n\n== tool build fast\nBuilds fast.\n"
	if err := SetDetails(m.Node, text); err != nil {
		t.Fatal(err)
	}
	if m.Node.Detail != "Examples:\n\n    tool build" {
		t.Errorf("root detail %q", m.Node.Detail)
	}
	build := m.Node.Children[0]
	if build.Detail != "" || build.Children[0].Detail != "Builds fast." {
		t.Errorf("build %q, build fast %q", build.Detail, build.Children[0].Detail)
	}
	for text, want := range map[string]string{
		"== tool deploy\nx\n":                "not a command",
		"== tool ship\na\n== tool ship\nb\n": "twice",
	} {
		if err := SetDetails(detailsModel(t).Node, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SetDetails(%q) = %v; want an error saying %q", text, err, want)
		}
	}
}
