package connect

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state/adminapi"
)

// ConfigName is the configuration file a run looks for in its directory
// and the parents up to the repository's top (the directory with .git).
const ConfigName = "personactl.yaml"

//go:embed config.schema.json
var configSchema []byte

// ConfigSchema is personactl.yaml's JSON Schema.
func ConfigSchema() []byte { return configSchema }

// Config is personactl.yaml: a team's settings, never its secrets.
type Config struct {
	// Path is the file; the paths in it are relative to its directory.
	Path string
	// Catalog is the catalog's path, as the file gives it.
	Catalog      string
	Environments map[string]Environment
}

// Environment is one environment's settings, each as the file gives it
// ("" or nil: not given). Line is where the environment begins.
type Environment struct {
	Auth, State, Workspace string
	// LiveDSNEnv names the environment variable that holds mana-auth's
	// database DSN (the DSN is a secret; its name is not).
	LiveDSNEnv string
	// AdminEmail is the admin personactl signs in as (its password comes
	// from the environment).
	AdminEmail string
	MaxDeletes *int
	Line       int
}

// environmentKeys are the keys an environment may hold.
var environmentKeys = []string{"auth", "state", "workspace", "live_dsn_env", "max_deletes", "admin_email"}

// secretKeys are words of keys that would hold a secret.
var secretKeys = []string{"jwt", "token", "password", "secret", "dsn", "cookie", "key"}

// FindConfig returns the path of personactl.yaml in dir or the nearest
// parent that has one, looking no higher than the directory that holds
// .git; "" when there is none.
func FindConfig(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ConfigName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("looking for %s: %w", ConfigName, err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "", nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// LoadConfig reads and checks personactl.yaml at path: unknown keys and
// keys that would hold a secret are errors, each with its line.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w; fix the YAML", path, err)
	}
	c := &Config{Path: path, Environments: map[string]Environment{}}
	var errs []error
	bad := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", path, n.Line, n.Column, fmt.Sprintf(format, args...)))
	}
	if len(doc.Content) == 0 {
		return c, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		bad(top, "the file must be a mapping with catalog and environments")
		return nil, joinErrors(errs)
	}
	for key, value := range pairs(top) {
		switch key.Value {
		case "catalog":
			c.Catalog = scalar(value, key.Value, bad)
		case "environments":
			if value.Kind != yaml.MappingNode {
				bad(value, "environments must map each environment's name to its settings")
				continue
			}
			for name, settings := range pairs(value) {
				c.Environments[name.Value] = environment(settings, name.Value, bad)
			}
		default:
			unknownKey(key, []string{"catalog", "environments"}, bad)
		}
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return c, nil
}

// environment reads one environment's settings.
func environment(n *yaml.Node, name string, bad func(*yaml.Node, string, ...any)) Environment {
	env := Environment{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		bad(n, "environment %s must be a mapping of settings (%s)", name, strings.Join(environmentKeys, ", "))
		return env
	}
	for key, value := range pairs(n) {
		v := scalar(value, key.Value, bad)
		switch key.Value {
		case "auth":
			env.Auth = v
			if u, err := url.Parse(v); err == nil && u.User != nil {
				bad(value, "auth holds credentials in its URL; personactl.yaml holds no secret: give the URL without them")
			}
		case "state":
			env.State = v
			if u, err := url.Parse(v); err == nil && u.User != nil {
				if _, set := u.User.Password(); set {
					bad(value, "state is a DSN with a password; personactl.yaml holds no secret: put the password in ~/.pgpass or PGPASSWORD, or the whole DSN in PERSONACTL_STATE")
				}
			}
		case "workspace":
			env.Workspace = v
		case "live_dsn_env":
			env.LiveDSNEnv = v
		case "admin_email":
			env.AdminEmail = v
		case "max_deletes":
			n, err := strconv.Atoi(v)
			if err != nil || n < -1 {
				bad(value, "max_deletes is %q: give a number of deletes, or -1 for no limit", v)
				continue
			}
			env.MaxDeletes = &n
		default:
			unknownKey(key, environmentKeys, bad)
		}
	}
	return env
}

// unknownKey reports a key the file may not hold: a secret, with where
// secrets go, or a misspelling, with what was meant.
func unknownKey(key *yaml.Node, known []string, bad func(*yaml.Node, string, ...any)) {
	lower := strings.ToLower(key.Value)
	for _, word := range secretKeys {
		if strings.Contains(lower, word) {
			bad(key, "%s would hold a secret, and personactl.yaml holds none (it is committed): give the admin token with MANA_ADMIN_JWT_FILE, the seed secret with PERSONA_SEED_SECRET, and mana-auth's database with live_dsn_env, the name of the variable that holds its DSN", key.Value)
			return
		}
	}
	if s := catalog.Suggest(key.Value, known); s != "" {
		bad(key, "unknown key %s; did you mean %s?", key.Value, s)
		return
	}
	bad(key, "unknown key %s; the keys are %s", key.Value, strings.Join(known, ", "))
}

// pairs yields a mapping node's keys and values in order.
func pairs(n *yaml.Node) func(yield func(*yaml.Node, *yaml.Node) bool) {
	return func(yield func(*yaml.Node, *yaml.Node) bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

func scalar(n *yaml.Node, key string, bad func(*yaml.Node, string, ...any)) string {
	if n.Kind != yaml.ScalarNode {
		bad(n, "%s must be a single value", key)
		return ""
	}
	return n.Value
}

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// Field is one setting that the file may give, as the command line left
// it: Apply fills it from the file when neither a flag nor an environment
// variable did.
type Field struct {
	// Name is the setting's key in the file ("auth"); Flag and Env how the
	// command line and the environment name it.
	Name, Flag, Env string
	// Value is the setting; Given: a flag on the command line set it.
	Value *string
	Given bool
	// Path: a path, relative to the file's directory when the file gives
	// it. Secret: shown redacted.
	Path, Secret bool
}

// Setting is one effective setting and where its value came from.
type Setting struct {
	Name, Value, Source string
}

// Apply layers the file under the flags and environment variables: each
// field that neither set gets the selected environment's value (catalog
// from the top of the file). An environment variable that overrides a
// value of the selected environment is warned about: an exported staging
// URL must not mix silently with --env=production. It returns every
// field's value and source. env "" selects no environment.
func (c *Config) Apply(env string, fields []Field, lookup func(string) (string, bool)) (settings []Setting, warnings []string, err error) {
	var e Environment
	if env != "" {
		var ok bool
		if e, ok = c.Environments[env]; !ok {
			names := slices.Sorted(func(yield func(string) bool) {
				for n := range c.Environments {
					if !yield(n) {
						return
					}
				}
			})
			hint := "the file names none"
			if len(names) > 0 {
				hint = "it names " + strings.Join(names, ", ")
				if s := catalog.Suggest(env, names); s != "" {
					hint = "did you mean " + s + "?"
				}
			}
			return nil, nil, fmt.Errorf("--env=%s: %s has no such environment; %s", env, c.Path, hint)
		}
	}
	for _, f := range fields {
		envValue, envSet := "", false
		if f.Env != "" {
			envValue, envSet = lookup(f.Env)
			envSet = envSet && envValue != ""
		}
		fromFile, key, err := c.value(e, env, f.Name, lookup)
		if err != nil && !f.Given && !envSet {
			return nil, nil, err
		}
		source := "default"
		switch {
		case f.Given:
			source = "flag " + f.Flag
		case envSet:
			source = "environment " + f.Env
			if fromFile != "" && env != "" && envValue != fromFile {
				warnings = append(warnings, fmt.Sprintf("%s overrides %s of environment %s (%s in %s); unset it, or pass %s to mean it", f.Env, f.Name, env, key, c.Path, f.Flag))
			}
		case fromFile != "":
			if f.Path && fromFile != "-" && !strings.Contains(fromFile, "://") && !filepath.IsAbs(fromFile) {
				fromFile = filepath.Join(filepath.Dir(c.Path), fromFile)
			}
			*f.Value = fromFile
			source = c.Path + " (" + key + ")"
		}
		shown := *f.Value
		if f.Secret && shown != "" {
			shown = adminapi.Redact(shown)
		}
		settings = append(settings, Setting{Name: f.Name, Value: shown, Source: source})
	}
	return settings, warnings, nil
}

// value is what the file gives for the setting name in the selected
// environment e, and the key that gave it.
func (c *Config) value(e Environment, env, name string, lookup func(string) (string, bool)) (string, string, error) {
	at := "environments." + env + "."
	switch name {
	case "catalog":
		return c.Catalog, "catalog", nil
	case "auth":
		return e.Auth, at + "auth", nil
	case "state":
		return e.State, at + "state", nil
	case "workspace":
		return e.Workspace, at + "workspace", nil
	case "admin_email":
		return e.AdminEmail, at + "admin_email", nil
	case "max_deletes":
		if e.MaxDeletes == nil {
			return "", "", nil
		}
		return strconv.Itoa(*e.MaxDeletes), at + "max_deletes", nil
	case "live":
		if e.LiveDSNEnv == "" {
			return "", "", nil
		}
		v, ok := lookup(e.LiveDSNEnv)
		if !ok || v == "" {
			return "", "", fmt.Errorf("environment %s in %s reads mana-auth's database from $%s (live_dsn_env), which is unset; export it, or remove live_dsn_env to read live through the admin API", env, c.Path, e.LiveDSNEnv)
		}
		return v, at + "live_dsn_env $" + e.LiveDSNEnv, nil
	}
	return "", "", nil
}
