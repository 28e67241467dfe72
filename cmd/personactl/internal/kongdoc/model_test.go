package kongdoc

import (
	"testing"

	"github.com/alecthomas/kong"
)

// tool is a small command line with one of each thing kongdoc reads:
// aliases; short, counter, negatable, hidden, repeatable and enum flags;
// paths told by type, by placeholder and by argument name; required,
// optional and repeated arguments; values completed by predictors; a
// hidden command; help texts with examples and with what roff must escape.
type tool struct {
	Config  string `help:"Config file. Read before anything else." placeholder:"PATH" env:"TOOL_CONFIG"`
	Verbose int    `short:"v" type:"counter" help:"Say more (repeatable)."`
	Jobs    int    `short:"j" default:"4" help:"Jobs at once."`
	Color   bool   `negatable:"" default:"true" help:"Colour the output."`
	Token   string `hidden:"" help:"An API token."`
	Level   string `enum:"low,high," default:"" help:"How hard to try."`

	Build  buildCmd  `cmd:"" aliases:"b,make" help:"Build the targets. It takes a while."`
	Remote remoteCmd `cmd:"" help:"Manage remotes."`
	Debug  struct{}  `cmd:"" hidden:"" help:"Dump the internals."`
}

func (tool) Help() string {
	return `Examples:
  tool build --out dist
  tool remote add origin key.pem

.tool files are read too, from C:\tool on Windows.`
}

type buildCmd struct {
	Out     string   `type:"path" help:"Where to write." env:"TOOL_OUT"`
	Input   string   `short:"i" type:"existingfile" help:"Read the targets from this file."`
	Tag     []string `help:"Tag the build." predictor:"tag"`
	Format  string   `enum:"text,json" default:"text" help:"Output format." env:"TOOL_FORMAT"`
	Cache   bool     `negatable:"fresh" help:"Reuse earlier results."`
	Targets []string `arg:"" optional:"" help:"What to build (\"all\" by default)."`
}

func (buildCmd) Help() string {
	return `Examples:
  tool build --format=json app … lib`
}

type remoteCmd struct {
	Add    remoteAddCmd `cmd:"" help:"Add a remote."`
	Remove remoteRmCmd  `cmd:"" aliases:"rm" help:"Remove a remote."`
}

type remoteAddCmd struct {
	Name   string `arg:"" enum:"origin,upstream" help:"The remote's name."`
	Key    string `arg:"" placeholder:"KEYFILE" help:"Its key."`
	Format string `enum:"text,json" default:"text" help:"Output format." env:"TOOL_FORMAT"`
}

type remoteRmCmd struct {
	Name string `arg:"" help:"The remote's name." predictor:"remote"`
}

// toolModel is tool's kong model.
func toolModel(t *testing.T) *kong.Application {
	t.Helper()
	var cli tool
	parser, err := kong.New(&cli, kong.Name("tool"), kong.Description("Build things — and ship them."))
	if err != nil {
		t.Fatal(err)
	}
	return parser.Model
}
