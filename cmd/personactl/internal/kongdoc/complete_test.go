package kongdoc

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestComplete(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		want  []string
		files bool
	}{
		{"no words: the commands", nil, []string{"build", "b", "make", "remote"}, false},
		{"a command and its aliases by prefix", []string{"b"}, []string{"build", "b"}, false},
		{"an alias leads to its command", []string{"make", "--fo"}, []string{"--format"}, false},
		{"subcommands, aliases too", []string{"remote", ""}, []string{"add", "remove", "rm"}, false},
		{"a flag by prefix, its negation too", []string{"build", "--f"}, []string{"--format", "--fresh"}, false},
		{"the command's flags before the global ones", []string{"build", "--c"}, []string{"--cache", "--config", "--color"}, false},
		{"a negated flag", []string{"--no"}, []string{"--no-color"}, false},
		{"a hidden flag is not offered", []string{"--to"}, nil, false},
		{"a hidden flag's value is skipped", []string{"--token", "x", "re"}, []string{"remote"}, false},
		{"a short flag's value is skipped", []string{"-j", "8", "bu"}, []string{"build"}, false},
		{"a counter takes no value", []string{"-v", "bu"}, []string{"build"}, false},
		{"a bool takes no value", []string{"--color", "bu"}, []string{"build"}, false},
		{"a negation takes no value", []string{"--no-color", "bu"}, []string{"build"}, false},
		{"--flag=value is one word", []string{"--config=tool.yaml", "bu"}, []string{"build"}, false},
		{"a repeatable flag's value is skipped", []string{"build", "--tag", "v1", "--ou"}, []string{"--out"}, false},
		{"enum values after a flag", []string{"build", "--format", ""}, []string{"text", "json"}, false},
		{"an empty enum value is not offered", []string{"--level", ""}, []string{"low", "high"}, false},
		{"enum values after --flag=", []string{"build", "--format=j"}, []string{"--format=json"}, false},
		{"--flag= of a flag that takes no value", []string{"--color=t"}, nil, false},
		{"--flag= of a flag that does not exist", []string{"--nope=x"}, nil, false},
		{"a path type takes a file", []string{"build", "--out", ""}, nil, true},
		{"a path type after --flag=", []string{"build", "--out=di"}, nil, true},
		{"an existing file after a short flag", []string{"build", "-i", ""}, nil, true},
		{"a PATH placeholder takes a file", []string{"--config", ""}, nil, true},
		{"a number takes no file", []string{"--jobs", ""}, nil, false},
		{"an enum argument", []string{"remote", "add", ""}, []string{"origin", "upstream"}, false},
		{"a FILE placeholder argument takes a file", []string{"remote", "add", "origin", ""}, nil, true},
		{"flags once every argument is given", []string{"remote", "add", "origin", "key.pem", "--"},
			[]string{"--format", "--help", "--config", "--verbose", "--jobs", "--color", "--no-color", "--level"}, false},
		{"a repeated argument goes on", []string{"build", "app", "lib", ""}, nil, false},
		{"after -- every word is an argument", []string{"remote", "add", "--", "--origin", "--k"}, nil, true},
		{"nothing matches", []string{"build", "--format", "yaml"}, nil, false},
		{"the hidden command is not offered", []string{"de"}, nil, false},
	}
	app := toolModel(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cands, files := Complete(app, tt.words, nil)
			var got []string
			for _, c := range cands {
				got = append(got, c.Value)
			}
			if !slices.Equal(got, tt.want) || files != tt.files {
				t.Errorf("tool %s<TAB>: got %q files=%v, want %q files=%v", strings.Join(tt.words, " "), got, files, tt.want, tt.files)
			}
		})
	}
}

// TestCompleteHelp: the shells that show a description show the first
// sentence of the help; enum values have none.
func TestCompleteHelp(t *testing.T) {
	tests := []struct {
		words []string
		want  []Candidate
	}{
		{[]string{"bu"}, []Candidate{{"build", "Build the targets"}}},
		{[]string{"--conf"}, []Candidate{{"--config", "Config file"}}},
		{[]string{"--verb"}, []Candidate{{"--verbose", "Say more (repeatable)"}}},
		{[]string{"build", "--format=t"}, []Candidate{{Value: "--format=text"}}},
	}
	app := toolModel(t)
	for _, tt := range tests {
		if got, _ := Complete(app, tt.words, nil); !slices.Equal(got, tt.want) {
			t.Errorf("tool %s<TAB>: got %q, want %q", strings.Join(tt.words, " "), got, tt.want)
		}
	}
}

// TestCompletePredicted: a value tagged predictor:"NAME" is completed
// from the predictor of that name, which is told the flags typed so far;
// without one it has no candidates, and no files.
func TestCompletePredicted(t *testing.T) {
	var told map[string]string
	predictors := map[string]Predictor{
		"remote": func(flags map[string]string) []string {
			told = flags
			return []string{"origin", "upstream", "other\nline", ""}
		},
	}
	tests := []struct {
		name  string
		words []string
		want  []string
		told  map[string]string
	}{
		{"an argument", []string{"remote", "rm", ""}, []string{"origin", "upstream"}, map[string]string{}},
		{"by prefix, never a value with a line break", []string{"remote", "rm", "o"}, []string{"origin"}, map[string]string{}},
		{"told the flags typed", []string{"--config", "a.yaml", "-j", "2", "--level=low", "remote", "rm", "up"}, []string{"upstream"},
			map[string]string{"config": "a.yaml", "jobs": "2", "level": "low"}},
		{"an alias's argument", []string{"remote", "remove", "--config=b.yaml", "u"}, []string{"upstream"}, map[string]string{"config": "b.yaml"}},
		{"no predictor of that name", []string{"build", "--tag", ""}, nil, nil},
		{"nor after --flag=", []string{"build", "--tag=v"}, nil, nil},
	}
	app := toolModel(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			told = nil
			cands, files := Complete(app, tt.words, predictors)
			var got []string
			for _, c := range cands {
				got = append(got, c.Value)
			}
			if !slices.Equal(got, tt.want) || files || !maps.Equal(told, tt.told) {
				t.Errorf("tool %s<TAB>: got %q files=%v, told %v; want %q, told %v", strings.Join(tt.words, " "), got, files, told, tt.want, tt.told)
			}
		})
	}
	predictors["tag"] = func(map[string]string) []string { return []string{"v1", "v2", "latest"} }
	if got, _ := Complete(app, []string{"build", "--tag=v"}, predictors); !slices.Equal(got, []Candidate{{Value: "--tag=v1"}, {Value: "--tag=v2"}}) {
		t.Errorf("tool build --tag=v<TAB>: got %q", got)
	}
}

func TestWriteAnswer(t *testing.T) {
	tests := []struct {
		name  string
		cands []Candidate
		files bool
		want  string
	}{
		{"values with and without help", []Candidate{{"build", "Build the targets"}, {Value: "json"}}, false, "build\tBuild the targets\njson\n:done\n"},
		{"files", nil, true, ":files\n"},
		{"nothing", nil, false, ":done\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := WriteAnswer(&b, tt.cands, tt.files); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s: answer %q, want %q", tt.name, b.String(), tt.want)
		}
	}
}
