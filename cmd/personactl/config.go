package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/apply/connect"
)

// ConfigCmd prints the effective settings and where each came from.
type ConfigCmd struct{}

// Run prints the settings as configure layered them; secrets redacted.
func (c *ConfigCmd) Run(g *Globals, s Streams) error {
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, st := range g.effective() {
		v := st.Value
		if v == "" {
			v = "(unset)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.Name, v, st.Source)
	}
	return tw.Flush()
}

// effective are the settings in effect, each with its source, as
// personactl config prints them and the debug log records them: secrets
// redacted, the token and the seed secret only said to be set.
func (g *Globals) effective() []connect.Setting {
	file := g.configPath
	if file == "" {
		file = "(none found: " + connect.ConfigName + " in this directory or a parent up to the repository's top)"
	}
	env, envSource := g.Env, "default"
	switch {
	case g.given["env"]:
		envSource = "flag --env"
	case env != "":
		envSource = "environment PERSONACTL_ENV"
	default:
		env = "(none)"
	}
	out := []connect.Setting{{Name: "config file", Value: file}, {Name: "env", Value: env, Source: envSource}}
	out = append(out, g.shown...)
	secret, secretSource := "(unset: the public development secret, on loopback only)", "default"
	if v, ok := os.LookupEnv("PERSONA_SEED_SECRET"); ok {
		secret, secretSource = fmt.Sprintf("(set, %d bytes)", len(v)), "environment PERSONA_SEED_SECRET"
	}
	return append(out,
		connect.Setting{Name: "admin token", Value: tokenShown(g), Source: tokenSource(g)},
		connect.Setting{Name: "seed secret", Value: secret, Source: secretSource})
}

func tokenShown(g *Globals) string {
	switch name, _ := g.settings(Streams{}).AdminSource(); name {
	case "--jwt-file", "MANA_ADMIN_JWT_FILE":
		return "(read from " + g.JWTFile + ")"
	case "--jwt", "MANA_ADMIN_JWT":
		return "(set, redacted)"
	case "--admin-email", "MANA_ADMIN_EMAIL":
		return "(a sign-in as " + g.AdminEmail + ", renewed as a run goes)"
	}
	return "(unset)"
}

func tokenSource(g *Globals) string {
	name, err := g.settings(Streams{}).AdminSource()
	switch {
	case err != nil:
		return err.Error()
	case strings.HasPrefix(name, "--"):
		return "flag " + name
	case name != "":
		return "environment " + name
	}
	return ""
}

// withRunFlags is a command that applies or destroys.
type withRunFlags interface{ runFlags() *RunFlags }

func (c *ApplyCmd) runFlags() *RunFlags   { return &c.RunFlags }
func (c *DestroyCmd) runFlags() *RunFlags { return &c.RunFlags }

// noSettings are the commands that open nothing, so read no settings.
var noSettings = map[string]bool{"version": true, "completion": true, "__complete": true, "man": true, "schema": true}

// configure layers personactl.yaml under the flags and the environment:
// a flag beats an environment variable, which beats the file, which beats
// the default. It warns on standard error where an environment variable
// overrides the selected environment.
func (cli *CLI) configure(kctx *kong.Context, s Streams) error {
	g := &cli.Globals
	g.given = map[string]bool{}
	for _, p := range kctx.Path {
		if p.Flag != nil && !p.Resolved {
			g.given[p.Flag.Name] = true
		}
	}
	if cmd := kctx.Selected(); cmd != nil && noSettings[cmd.Name] {
		return nil
	}
	var rf *RunFlags
	if cmd, ok := kctx.Selected().Target.Addr().Interface().(withRunFlags); ok {
		rf = cmd.runFlags()
	}
	return g.layer(rf, s.Err)
}

// layer fills from personactl.yaml each setting that neither a flag given
// (g.given) nor an environment variable set; rf are the apply or destroy
// flags, when the command has them. It warns on w where an environment
// variable overrides the selected environment.
func (g *Globals) layer(rf *RunFlags, w io.Writer) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if g.configPath, err = connect.FindConfig(wd); err != nil {
		return err
	}
	cfg := &connect.Config{}
	if g.configPath != "" {
		if cfg, err = connect.LoadConfig(g.configPath); err != nil {
			return err
		}
	} else if g.Env != "" {
		return fmt.Errorf("--env=%s names an environment of %s, and there is none in this directory or a parent up to the repository's top; create one, or drop --env", g.Env, connect.ConfigName)
	}
	maxDeletes := ""
	if rf != nil {
		maxDeletes = strconv.Itoa(rf.MaxDeletes)
	}
	fields := []connect.Field{
		{Name: "catalog", Flag: "--catalog", Env: "PERSONACTL_CATALOG", Value: &g.Catalog, Given: g.given["catalog"], Path: true},
		{Name: "auth", Flag: "--auth", Env: "MANA_AUTH_URL", Value: &g.Auth, Given: g.given["auth"], Secret: true},
		{Name: "state", Flag: "--state", Env: "PERSONACTL_STATE", Value: &g.State, Given: g.given["state"], Path: true, Secret: true},
		{Name: "workspace", Flag: "--workspace", Env: "PERSONACTL_WORKSPACE", Value: &g.Workspace, Given: g.given["workspace"]},
		{Name: "live", Flag: "--live", Env: "PERSONACTL_LIVE_DSN", Value: &g.Live, Given: g.given["live"], Secret: true},
		{Name: "admin_email", Flag: "--admin-email", Env: "MANA_ADMIN_EMAIL", Value: &g.AdminEmail, Given: g.given["admin-email"]},
	}
	if rf != nil {
		fields = append(fields, connect.Field{Name: "max_deletes", Flag: "--max-deletes", Value: &maxDeletes, Given: g.given["max-deletes"]})
	}
	shown, warnings, err := cfg.Apply(g.Env, fields, os.LookupEnv)
	if err != nil {
		return err
	}
	if rf != nil {
		if rf.MaxDeletes, err = strconv.Atoi(maxDeletes); err != nil {
			return err
		}
	}
	g.shown = shown
	for _, warning := range warnings {
		fmt.Fprintf(w, "Warning: %s\n", warning)
	}
	return nil
}
