// Package connect opens what a run works on, from its settings: the catalog
// loader, the seed secret, the admin API client, the live reader (the API,
// or mana-auth's database) and the recorded state (a file, or PostgreSQL),
// and builds reconcile's loop on them. It checks everything that can be
// checked before a request is sent: the URL, the token, the secret, the
// numbers.
//
// It is the one place that knows the concrete adapters; reconcile and apply
// see only state's and apply's interfaces. The command line fills Settings
// from its flags and environment; tests fill it directly.
package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
	"github.com/mana/personactl/state/authdb"
	"github.com/mana/personactl/state/file"
	"github.com/mana/personactl/state/postgres"
)

// Settings are a run's choices, as the command line's flags name them.
type Settings struct {
	// Catalog is the catalog's path ("-": Stdin); CatalogFormat (json or
	// yaml) when its extension does not tell; Strict makes warnings errors.
	Catalog       string
	CatalogFormat string
	Strict        bool
	// Annotate, when set, also receives the catalog's findings, errors and
	// warnings (GitHub annotations).
	Annotate func([]catalog.Diagnostic)

	// Auth is mana-auth's base URL. Plain http to a host off loopback is
	// refused unless InsecureHTTP; the public development seed secret
	// against one unless AllowDevSecret.
	Auth           string
	InsecureHTTP   bool
	AllowDevSecret bool

	// Token is the admin JWT (--jwt, MANA_ADMIN_JWT), or TokenFile names a
	// file holding it ("-": Stdin). TokenInArgs: Token came on the command
	// line, which a warning says. Or personactl signs in as the admin
	// AdminEmail with the password in AdminPasswordFile ("-": Stdin) or
	// MANA_ADMIN_PASSWORD, and renews the token as the run goes
	// (credentials.go).
	Token             string
	TokenFile         string
	TokenInArgs       bool
	AdminEmail        string
	AdminPasswordFile string
	// Given names the flags given on the command line ("jwt", "jwt-file",
	// "admin-email", …): a flag beats an environment variable.
	Given map[string]bool
	// Now is the admin API client's clock; nil: time.Now.
	Now func() time.Time

	// State is a state file's path or a PostgreSQL DSN; Workspace names the
	// state within PostgreSQL; HistoryRetain is how many finished runs the
	// journal keeps.
	State         string
	Workspace     string
	HistoryRetain int

	// Live, when set, is mana-auth's database, read instead of the API.
	Live string

	Parallelism int
	LockTimeout time.Duration

	Stdin io.Reader
	// Stderr receives warnings and notices, and the news of each retry of
	// a request to mana-auth; StderrTerminal: it is a terminal, where that
	// news is shown on one line that each piece replaces.
	Stderr         io.Writer
	StderrTerminal bool
	// LookupEnv reads PERSONA_SEED_SECRET; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Log is the debug log (see OpenLog), handed to every adapter; nil
	// logs nothing.
	Log *slog.Logger
}

// Needs says what a command needs opened.
type Needs struct {
	// Catalog: false when a saved plan already holds the desired values.
	Catalog bool
	// CatalogOptional: a missing catalog file is an empty catalog, marked
	// Missing so that the plan says so (destroy).
	CatalogOptional bool
	// Secret: the run may derive passwords (creates, updates, replaces).
	Secret bool
	// SecretIfSet: use the seed secret only when PERSONA_SEED_SECRET is set
	// (drift checks credentials then, and says it did not otherwise).
	SecretIfSet bool
	// Writes: the run writes through the admin API, which needs a token
	// even when Live reads from mana-auth's database.
	Writes bool
}

// PlanNeeds is what a new plan needs: the catalog (optional when it
// destroys), and the seed secret when it may derive passwords, or else
// only when one is set (it then checks credentials too). A plan that reads
// live from mana-auth's database without an admin token can write nothing,
// so it derives no password.
func (s Settings) PlanNeeds(opts plan.Options) Needs {
	readOnly := s.Live != "" && s.Token == "" && s.TokenFile == "" && s.AdminEmail == ""
	derives := reconcile.DerivesPasswords(nil, opts, readOnly)
	return Needs{Catalog: true, CatalogOptional: opts.Destroy, Secret: derives, SecretIfSet: !derives}
}

// ApplyNeeds is what an apply or destroy needs: the catalog unless a saved
// plan holds the desired values, the seed secret when the plan may derive
// passwords, and a token to write.
func ApplyNeeds(saved *plan.Plan, opts plan.Options) Needs {
	return Needs{
		Catalog:         saved == nil,
		CatalogOptional: opts.Destroy,
		Secret:          reconcile.DerivesPasswords(saved, opts, false),
		Writes:          true,
	}
}

// Run is what Open opened, and the loop built on it.
type Run struct {
	Secret *catalog.Secret
	// Client writes (and reads, without Live); nil for a read-only run with
	// Live and no token.
	Client  *adminapi.Client
	Live    state.Live
	Backend state.Backend
	Loop    *reconcile.Session
	// warn says that the admin's session may outlive the run.
	warn func(string)
}

// Open checks the settings, the URL, the seed secret and the token, then
// opens the live reader and the state. The catalog is not read yet: the
// loop reads it while it reads live. Close releases what Open opened.
func Open(ctx context.Context, s Settings, n Needs) (*Run, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	u, err := s.AuthURL()
	if err != nil {
		return nil, err
	}
	r := &Run{warn: s.say}
	var retrying func(string)
	if s.Stderr != nil {
		line := apply.NewStatusLine(s.Stderr, s.StderrTerminal)
		s.Stderr, retrying = line, line.Show
	}
	if _, set := s.lookupEnv("PERSONA_SEED_SECRET"); n.Secret || (n.SecretIfSet && set) {
		sec, err := s.secret(u)
		if err != nil {
			return nil, err
		}
		r.Secret = &sec
	}
	if s.Live == "" || n.Writes || s.Token != "" {
		if r.Client, err = s.client(ctx, u, retrying); err != nil {
			return nil, err
		}
		r.Live = r.Client.Reader()
	}
	if s.Live != "" {
		reader, err := authdb.Open(ctx, s.Live, authdb.Options{Log: s.Log})
		if err != nil {
			r.Close()
			return nil, err
		}
		r.Live = reader
	}
	if r.Backend, err = s.OpenState(ctx); err != nil {
		r.Close()
		return nil, err
	}
	r.Loop = &reconcile.Session{
		Backend:        r.Backend,
		Live:           r.Live,
		Secret:         r.Secret,
		Workspace:      s.Workspace,
		Parallelism:    s.Parallelism,
		RequestTimeout: adminapi.DefaultTimeout,
		CountsRequests: s.Live == "",
		Notify:         s.say,
		TokenSource:    s.tokenSource(),
	}
	if n.Catalog {
		r.Loop.Catalog = func() (*catalog.Catalog, error) {
			c, err := s.LoadCatalog()
			if n.CatalogOptional && errors.Is(err, fs.ErrNotExist) {
				return &catalog.Catalog{Path: s.Catalog, Missing: true}, nil
			}
			return c, err
		}
	}
	return r, nil
}

// Close releases the connections and the state Open opened.
func (r *Run) Close() {
	if db, ok := r.Live.(*authdb.Reader); ok {
		db.Close()
	}
	if r.Client != nil {
		signOut(r.Client, r.warn)
		r.Client.Close()
	}
	if r.Backend != nil {
		r.Backend.Close()
	}
}

// Writes returns the options of a run that writes through the admin API,
// with the rules of that API filled in: every request body is checked
// against mana-auth's validation before the first write, and a refused
// token stops the run at once (it would refuse the rollback too).
func (r *Run) Writes(noRollback bool, events func(apply.Event)) apply.Options {
	return apply.Options{
		Parallelism: r.Loop.Parallelism,
		NoRollback:  noRollback,
		Check:       adminapi.CheckUpsert,
		Events:      events,
		Fatal:       func(err error) bool { return errors.Is(err, adminapi.ErrTokenRejected) },
	}
}

// TokenExpiry is when the admin token expires, or zero when it does not
// say or there is no client.
func (r *Run) TokenExpiry() time.Time {
	if r.Client == nil {
		return time.Time{}
	}
	if exp, ok := r.Client.TokenExpiry(); ok {
		return exp
	}
	return time.Time{}
}

func (s Settings) check() error {
	if s.Parallelism < 1 {
		return fmt.Errorf("--parallelism=%d: it must be at least 1", s.Parallelism)
	}
	if s.LockTimeout < 0 {
		return fmt.Errorf("--lock-timeout=%s: it must not be negative; 0s fails at once when the state is locked", s.LockTimeout)
	}
	var stdin []string
	for _, in := range s.inputs() {
		if in.path == "-" {
			stdin = append(stdin, in.flag)
		}
	}
	if len(stdin) > 1 {
		return fmt.Errorf("%s each read standard input (-), which can be read only once; keep - for one of them and name a file for the other", strings.Join(stdin, " and "))
	}
	return nil
}

// input is a file a run reads, named by a flag; "-" reads standard input.
type input struct {
	flag, path, what string
}

// inputs are the files the flags name. Each is checked alike: at most one
// reads standard input, and plan --out never overwrites one.
func (s Settings) inputs() []input {
	return []input{
		{"--catalog (PERSONACTL_CATALOG)", s.Catalog, "the catalog"},
		{"--jwt-file (MANA_ADMIN_JWT_FILE)", s.TokenFile, "the admin JWT's file"},
		{"--admin-password-file (MANA_ADMIN_PASSWORD_FILE)", s.AdminPasswordFile, "the admin's password file"},
	}
}

func (s Settings) say(msg string) {
	if s.Stderr != nil {
		fmt.Fprintln(s.Stderr, msg)
	}
}

func (s Settings) lookupEnv(key string) (string, bool) {
	if s.LookupEnv == nil {
		return os.LookupEnv(key)
	}
	return s.LookupEnv(key)
}

// LoadCatalog reads and validates the catalog, printing its warnings to
// Stderr; its findings also go to Annotate.
func (s Settings) LoadCatalog() (*catalog.Catalog, error) {
	c, err := catalog.Load(s.Catalog, catalog.Options{Format: s.CatalogFormat, Strict: s.Strict, Stdin: s.Stdin})
	if err != nil {
		var diags catalog.Errors
		if errors.As(err, &diags) {
			s.annotate(diags)
			return nil, fmt.Errorf("the catalog has %s; fix them and run again:\n%w", findings(diags), err)
		}
		return nil, err
	}
	for _, w := range c.Warnings {
		s.say(w.String())
	}
	s.annotate(c.Warnings)
	return c, nil
}

// findings counts a catalog's errors, and its warnings when there are any:
// "2 error(s) and 1 warning(s)".
func findings(diags []catalog.Diagnostic) string {
	errs := 0
	for _, d := range diags {
		if d.Severity == catalog.SeverityError {
			errs++
		}
	}
	if warns := len(diags) - errs; warns > 0 {
		return fmt.Sprintf("%d error(s) and %d warning(s)", errs, warns)
	}
	return fmt.Sprintf("%d error(s)", errs)
}

func (s Settings) annotate(diags []catalog.Diagnostic) {
	if s.Annotate != nil && len(diags) > 0 {
		s.Annotate(diags)
	}
}

// AuthURL parses Auth and refuses plain http to a host off loopback.
func (s Settings) AuthURL() (*url.URL, error) {
	u, err := url.Parse(s.Auth)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--auth / MANA_AUTH_URL %q is not an http(s) URL; set it to mana-auth's base URL, e.g. http://localhost:3001", adminapi.Redact(s.Auth))
	}
	if u.Scheme == "http" && !catalog.IsLoopback(u) && !s.InsecureHTTP {
		return nil, fmt.Errorf("refusing plain http:// to %s, which is not on loopback: the admin token and persona passwords would cross the network unencrypted; use https://, or pass --insecure-http if you must", u.Host)
	}
	return u, nil
}

// secret resolves PERSONA_SEED_SECRET, refusing one that is empty, blank or
// not text, the public development secret (or its fallback when unset)
// under NODE_ENV=production, and either of those against a server off
// loopback unless AllowDevSecret.
func (s Settings) secret(u *url.URL) (catalog.Secret, error) {
	sec, err := catalog.ResolveSecret(s.lookupEnv)
	if err != nil {
		return catalog.Secret{}, err
	}
	return sec, sec.CheckServer(u, s.AllowDevSecret)
}

// CheckWorkspace refuses a workspace name that is not 1 to 63 letters,
// digits, '_', '-' and '.': a name is shown in plans, PR comments and
// locks, and compared byte for byte.
func CheckWorkspace(name string) error {
	ok := len(name) >= 1 && len(name) <= 63
	for _, r := range name {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}
	if !ok {
		return fmt.Errorf("--workspace / PERSONACTL_WORKSPACE %q is not a workspace name: use 1 to 63 letters, digits, '_', '-' and '.', e.g. --workspace=staging", name)
	}
	return nil
}

// OpenState opens the recorded state State names: a file, or with a
// postgres:// DSN a workspace in PostgreSQL.
func (s Settings) OpenState(ctx context.Context) (state.Backend, error) {
	if IsDSN(s.State) {
		if err := CheckWorkspace(s.Workspace); err != nil {
			return nil, err
		}
		b, err := postgres.Open(ctx, s.State, s.Workspace, postgres.Options{Retain: s.HistoryRetain, Log: s.Log})
		if err != nil {
			return nil, err // never a typed nil: callers test the interface
		}
		return b, nil
	}
	b, err := file.New(s.State, file.Options{Retain: s.HistoryRetain, Warn: func(msg string) { s.say("Warning: " + msg) }, Log: s.Log})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// IsDSN reports whether a --state value names a PostgreSQL database.
func IsDSN(ref string) bool {
	return strings.HasPrefix(ref, "postgres://") || strings.HasPrefix(ref, "postgresql://")
}

// Inputs names the files a run reads, which a saved plan must not
// overwrite: the catalog, the admin JWT's file and, for a state file, its
// files.
func (s Settings) Inputs() map[string]string {
	in := map[string]string{}
	for _, i := range s.inputs() {
		if i.path != "" {
			in[i.path] = i.what
		}
	}
	if !IsDSN(s.State) {
		maps.Copy(in, file.Files(s.State))
	}
	return in
}
