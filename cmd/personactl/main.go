// Command personactl makes Mana's live personas match the catalog, the way
// terraform plan / apply make infrastructure match its configuration.
//
// This package only wires: it parses flags with kong, builds the catalog,
// state and apply pieces, calls them and maps errors to exit codes.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/cmd/personactl/internal/kongdoc"
	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/internal/neutral"
)

// Set by the linker (see the Makefile).
var (
	version = "dev"
	commit  = "none"
)

// Globals are the flags every command takes; each is also read from the environment.
type Globals struct {
	Catalog        string        `help:"Catalog file (JSON or YAML by extension; - reads standard input)." env:"PERSONACTL_CATALOG" default:"catalog.json" placeholder:"PATH"`
	CatalogFormat  string        `help:"Format of the catalog when the extension does not tell (json or yaml)." enum:"json,yaml," default:""`
	Strict         bool          `help:"Treat catalog warnings as errors."`
	Auth           string        `help:"mana-auth's base URL." env:"MANA_AUTH_URL" default:"http://localhost:3001" placeholder:"URL"`
	JWT            string        `name:"jwt" help:"Admin JWT for mana-auth's admin API. On the command line it is visible to every user of the machine: prefer MANA_ADMIN_JWT or --jwt-file." env:"MANA_ADMIN_JWT" placeholder:"TOKEN"`
	JWTFile        string        `name:"jwt-file" help:"Read the admin JWT from this file (- for standard input)." env:"MANA_ADMIN_JWT_FILE" placeholder:"PATH"`
	AdminEmail     string        `help:"Sign in to mana-auth as this admin, as Mana's web app does, and renew the admin token as the run goes; the password comes from --admin-password-file or MANA_ADMIN_PASSWORD." env:"MANA_ADMIN_EMAIL" placeholder:"EMAIL"`
	AdminPassFile  string        `name:"admin-password-file" help:"Read the admin's password (for --admin-email) from this file (- for standard input)." env:"MANA_ADMIN_PASSWORD_FILE" placeholder:"PATH"`
	State          string        `help:"Recorded state: a file path, or postgres://… for the PostgreSQL backend." env:"PERSONACTL_STATE" default:"personactl.state.json" placeholder:"PATH|DSN"`
	Workspace      string        `help:"Workspace within a PostgreSQL state." env:"PERSONACTL_WORKSPACE" default:"default"`
	Live           string        `help:"Read live personas in one query from mana-auth's database (read only) instead of the admin API; writes still go through the API." env:"PERSONACTL_LIVE_DSN" placeholder:"postgres://…"`
	Parallelism    int           `help:"Requests in flight at most." default:"10"`
	LockTimeout    time.Duration `help:"How long to wait for the state lock (0s: fail at once)." default:"0s"`
	HistoryRetain  int           `help:"How many finished runs the journal keeps for personactl history (their summaries; plans and before-images are dropped once a run ends)." env:"PERSONACTL_HISTORY_RETAIN" default:"1000" placeholder:"N"`
	Color          string        `help:"Colour the output always, never, or on a terminal only (auto). Without the flag, FORCE_COLOR (set, not 0) means always and NO_COLOR (set) never." enum:"auto,always,never" default:"auto" lastwins:"color" placeholder:"auto|always|never"`
	NoColor        bool          `help:"The same as --color=never." lastwins:"color"`
	Debug          bool          `help:"Write a debug log to standard error: requests, SQL statements, the lock, the journal and the settings (PERSONACTL_LOG=debug|info, PERSONACTL_LOG_FORMAT=json, PERSONACTL_LOG_PATH=FILE)."`
	Env            string        `help:"Environment of personactl.yaml whose settings apply (below flags and environment variables)." env:"PERSONACTL_ENV" placeholder:"NAME"`
	InsecureHTTP   bool          `name:"insecure-http" help:"Allow plain http:// to a host that is not loopback."`
	AllowDevSecret bool          `help:"Allow the public development seed secret against a server that is not on loopback."`

	// jwtInArgs: the token came on the command line, which a warning says.
	jwtInArgs bool `kong:"-"`
	// given: the flags given on the command line, by name; configPath:
	// the personactl.yaml found ("" none); shown: the settings it could
	// give, with their values and sources.
	given      map[string]bool   `kong:"-"`
	configPath string            `kong:"-"`
	shown      []connect.Setting `kong:"-"`
	// github: --format=github asked for GitHub Actions annotations;
	// machineOutput: standard output is JSON or Markdown, so annotations
	// go to standard error.
	github        bool `kong:"-"`
	machineOutput bool `kong:"-"`
	// log is the debug log (openLog); it discards everything unless asked.
	log *slog.Logger `kong:"-"`
}

// CLI is personactl's command tree.
type CLI struct {
	Globals

	Validate ValidateCmd `cmd:"" help:"Check the catalog offline."`
	Plan     PlanCmd     `cmd:"" help:"Show what apply would change; changes nothing."`
	Apply    ApplyCmd    `cmd:"" help:"Make live personas match the catalog (or apply a saved plan)."`
	Destroy  DestroyCmd  `cmd:"" help:"Delete the personas this catalog and state manage (--all: every live persona)."`
	Drift    DriftCmd    `cmd:"" help:"Show only what changed outside personactl (exit 2 when something did)."`
	Show     ShowCmd     `cmd:"" help:"Render a saved plan, or without one the recorded state."`
	Verify   VerifyCmd   `cmd:"" help:"Log in as each persona the way the runner does (exit 2 when one cannot)."`
	History  HistoryCmd  `cmd:"" help:"List past runs from the journal, newest first."`
	Export   ExportCmd   `cmd:"" help:"Write the live personas as a catalog."`
	State    StateCmd    `cmd:"" help:"Inspect and repair the recorded state."`
	Config   ConfigCmd   `cmd:"" help:"Print the effective settings and where each came from (flag, environment, personactl.yaml, default)."`
	Auth     AuthCmd     `cmd:"" help:"Check the admin token a run would use."`
	Schema   SchemaCmd   `cmd:"" help:"Print the catalog's JSON Schema (--config: personactl.yaml's)."`
	Version  VersionCmd  `cmd:"" help:"Print version, commit and Go version."`

	Completion CompletionCmd `cmd:"" help:"Print the shell completion script (bash, zsh or fish)."`
	Complete   CompleteCmd   `cmd:"" name:"__complete" hidden:"" help:"Answer the shell completion scripts."`
	Man        ManCmd        `cmd:"" hidden:"" help:"Write personactl's man page (roff) to standard output."`
}

// exitCode is an error that carries the process's exit status; with a nil
// err nothing is printed.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCode) Unwrap() error { return e.err }

// Streams are the process's standard streams, passed to every command.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// memoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT does
// not set one. A run over 10,000 personas keeps about 25 MB live but
// allocates several times that while it reads and journals; without a
// limit the collector lets the heap grow to twice the live size after each
// cycle, and the process's resident set passes 150 MB. The limit is soft:
// a larger live heap (a far larger fleet) still works, with more frequent
// collections.
const memoryLimit = 96 << 20

// gcPercent is the collector's GOGC under that limit. A run is short and
// its heap is bounded by the limit, so the collector need not keep it at
// twice the live size: at the default 100 it ran seven times during a
// 10,000-persona plan, a sixth of the plan's CPU, on the cores the server
// answering it needs too. It applies only with personactl's own limit:
// GOGC or GOMEMLIMIT in the environment leave the runtime's settings alone.
// (cmd/personactl-bench runs its in-process rows under both settings.)
const gcPercent = 400

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(gcPercent)
		}
	}
	os.Exit(run(os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}

func run(args []string, s Streams) int {
	var cli CLI
	exited := -1
	parser, err := newParser(&cli,
		kong.UsageOnError(),
		kong.Writers(s.Out, s.Err),
		kong.Exit(func(code int) { exited = code; panic(exitPanic{}) }),
		kong.Bind(s),
	)
	if err != nil {
		fmt.Fprintf(s.Err, "personactl: internal error building the command line: %v\n", err)
		return 1
	}
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); !ok {
					code = crash(s.Err, failure.Recovered(r))
					return
				}
				code = exited
				if code != 0 {
					code = 1 // usage errors exit 1, as Terraform's do
				}
			}
		}()
		cli.Globals.jwtInArgs = connect.TokenInArgs(args)
		err := singleDashed(parser.Model, args)
		var kctx *kong.Context
		if err == nil {
			kctx, err = parser.Parse(args)
		}
		if err != nil {
			fmt.Fprintf(s.Err, "Error: %v\nRun personactl --help for usage.\n", err)
			return 1
		}
		if err := cli.configure(kctx, s); err != nil {
			fmt.Fprintf(s.Err, "Error: %v\n", err)
			return 1
		}
		closeLog, err := cli.openLog(s)
		if err != nil {
			fmt.Fprintf(s.Err, "Error: %v\n", err)
			return 1
		}
		defer closeLog()
		return exitStatus(s.Err, kctx.Run(&cli.Globals))
	}()
	return code
}

type exitPanic struct{}

// helpText is each command's detailed help, ending with its examples; a
// test parses every example line, so that none drifts from the flags.
//
//go:embed help.txt
var helpText string

// newParser builds the command line's parser, with the detailed help.
func newParser(cli *CLI, opts ...kong.Option) (*kong.Kong, error) {
	base := []kong.Option{kong.Name("personactl"), kong.Description("Reconcile Mana's personas with the catalog: plan, apply, destroy."), kong.Help(kongdoc.Help)}
	p, err := kong.New(cli, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	return p, kongdoc.SetDetails(p.Model.Node, helpText)
}

// exitStatus prints err (every failure joined in it on its own line) and returns
// the exit code it stands for. Outside text is neutralised where it enters an
// error; here, as the last guard, no control character but a line break of
// personactl's own reaches the terminal.
func exitStatus(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	code := 1
	var ec *exitCode
	if errors.As(err, &ec) {
		code = ec.code
		err = ec.err
	}
	if err == nil {
		return code
	}
	fmt.Fprintf(w, "Error: %s\n", neutral.Lines(err.Error()))
	if c, ok := crashed(w, err); ok {
		return c
	}
	return code
}
