package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/state/adminapi"
)

// The admin token comes from one of three sources: a token (--jwt,
// MANA_ADMIN_JWT), a file holding one (--jwt-file, MANA_ADMIN_JWT_FILE),
// or an admin's credentials (--admin-email, MANA_ADMIN_EMAIL, with a
// password), with which personactl signs in and renews the token as a run
// goes. A flag beats an environment variable; two sources at the same
// level are an error naming both.

// Kinds of source of the admin token.
const (
	sourceToken = iota + 1
	sourceTokenFile
	sourceSignIn
)

// adminSource is where the run's admin token comes from, named as the
// user gave it ("--jwt-file", "MANA_ADMIN_EMAIL"); kind 0: nowhere.
type adminSource struct {
	kind int
	name string
}

// AdminSource names where the admin token comes from: a flag ("--jwt",
// "--jwt-file", "--admin-email") or an environment variable
// ("MANA_ADMIN_JWT", …); "" when none is set.
func (s Settings) AdminSource() (string, error) {
	src, err := s.adminSource()
	return src.name, err
}

func (s Settings) adminSource() (adminSource, error) {
	var flags, env []adminSource
	for _, c := range []struct {
		kind        int
		flag, env   string
		value       string
		givenAsFlag bool
	}{
		{sourceToken, "--jwt", "MANA_ADMIN_JWT", s.Token, s.Given["jwt"] || s.TokenInArgs},
		{sourceTokenFile, "--jwt-file", "MANA_ADMIN_JWT_FILE", s.TokenFile, s.Given["jwt-file"]},
		{sourceSignIn, "--admin-email", "MANA_ADMIN_EMAIL", s.AdminEmail, s.Given["admin-email"]},
	} {
		switch {
		case c.value == "":
		case c.givenAsFlag:
			flags = append(flags, adminSource{c.kind, c.flag})
		default:
			env = append(env, adminSource{c.kind, c.env})
		}
	}
	for _, level := range [][]adminSource{flags, env} {
		switch len(level) {
		case 0:
		case 1:
			return level[0], nil
		default:
			return adminSource{}, fmt.Errorf("%s and %s both give the admin token; keep one", level[0].name, level[1].name)
		}
	}
	return adminSource{}, nil
}

// client builds the admin API client once the URL and the token's source
// are checked, signing in with an admin's credentials; retrying is told
// of its retries.
func (s Settings) client(ctx context.Context, u *url.URL, retrying func(string)) (*adminapi.Client, error) {
	src, err := s.adminSource()
	if err != nil {
		return nil, err
	}
	opts := adminapi.Options{BaseURL: u.String(), TokenSource: s.tokenSource(), Parallelism: s.Parallelism, Retrying: retrying, Log: s.Log, Now: s.Now}
	switch src.kind {
	case 0:
		return nil, errors.New("no admin token for " + adminapi.Redact(u.String()) + ": set MANA_ADMIN_EMAIL and MANA_ADMIN_PASSWORD_FILE to sign in as an admin, or MANA_ADMIN_JWT (or MANA_ADMIN_JWT_FILE, a file holding it) to an admin JWT")
	case sourceSignIn:
		password, err := s.adminPassword()
		if err != nil {
			return nil, err
		}
		c, err := adminapi.New(opts)
		if err != nil {
			return nil, err
		}
		if err := c.SignIn(ctx, s.AdminEmail, password); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	if opts.Token, err = s.ResolveToken(); err != nil {
		return nil, err
	}
	return adminapi.New(opts)
}

// tokenSource names where a token personactl cannot renew came from, for
// the messages that say where a fresh one goes.
func (s Settings) tokenSource() string {
	src, _ := s.adminSource()
	switch {
	case src.kind == sourceTokenFile && s.TokenFile == "-":
		return "standard input (--jwt-file=-)"
	case src.kind == sourceTokenFile:
		return "the file " + s.TokenFile
	case src.kind == sourceToken:
		return src.name
	}
	return "MANA_ADMIN_JWT"
}

// adminPassword returns the password of the admin sign-in: the file
// --admin-password-file names, or else MANA_ADMIN_PASSWORD_FILE's or
// MANA_ADMIN_PASSWORD (not both).
func (s Settings) adminPassword() (string, error) {
	env, _ := s.lookupEnv("MANA_ADMIN_PASSWORD")
	switch {
	case s.AdminPasswordFile != "" && env != "" && !s.Given["admin-password-file"]:
		return "", errors.New("MANA_ADMIN_PASSWORD_FILE and MANA_ADMIN_PASSWORD both give the admin's password; keep one")
	case s.AdminPasswordFile == "" && env == "":
		return "", fmt.Errorf("no password to sign in as %s: set MANA_ADMIN_PASSWORD_FILE (or --admin-password-file) to a file holding it, or MANA_ADMIN_PASSWORD", s.AdminEmail)
	case s.AdminPasswordFile == "":
		return env, nil
	}
	data, err := s.readInput(s.AdminPasswordFile)
	if err != nil {
		return "", fmt.Errorf("reading the admin's password from %s: %w; point --admin-password-file / MANA_ADMIN_PASSWORD_FILE at a readable file holding it", s.AdminPasswordFile, err)
	}
	// The password is the file's one line, without the line break an
	// editor ends it with (or a byte-order mark it begins it with).
	password := strings.TrimPrefix(string(data), "\uFEFF")
	password = strings.TrimSuffix(strings.TrimSuffix(password, "\n"), "\r")
	if password == "" || strings.ContainsAny(password, "\r\n") {
		return "", fmt.Errorf("%s does not hold one password on one line; write only the admin's password to it", s.AdminPasswordFile)
	}
	return password, nil
}

// ResolveToken returns the admin JWT of a run whose token comes from
// --jwt, --jwt-file or their variables: Token, or what the file TokenFile
// names holds ("-": Stdin, at most 64 KiB); "" for a run that signs in or
// has no token. A file that holds anything but one word is an error.
func (s Settings) ResolveToken() (string, error) {
	src, err := s.adminSource()
	switch {
	case err != nil:
		return "", err
	case src.kind == sourceToken:
		if src.name == "--jwt" && s.TokenInArgs {
			s.say("Warning: --jwt on the command line is visible to every user of this machine (ps, /proc/PID/cmdline) and stays in your shell history; set MANA_ADMIN_JWT, or --jwt-file=PATH / MANA_ADMIN_JWT_FILE, instead.")
		}
		return s.Token, nil
	case src.kind != sourceTokenFile:
		return "", nil
	}
	data, err := s.readInput(s.TokenFile)
	if err != nil {
		return "", fmt.Errorf("reading the admin JWT from %s: %w; point --jwt-file / MANA_ADMIN_JWT_FILE at a readable file holding the token", s.TokenFile, err)
	}
	// An editor on Windows may begin the file with a UTF-8 byte-order mark.
	token := strings.TrimSpace(strings.TrimPrefix(string(data), "\uFEFF"))
	if token == "" || strings.ContainsAny(token, " \t\n") {
		return "", fmt.Errorf("%s does not hold one admin JWT (it is empty or has several words); write only the token to it", s.TokenFile)
	}
	return token, nil
}

// readInput reads a file a flag names, "-" standard input, at most 64 KiB.
func (s Settings) readInput(path string) ([]byte, error) {
	if path != "-" {
		return os.ReadFile(path)
	}
	if s.Stdin == nil {
		return nil, errors.New("it reads standard input (-), and there is none here; name a file instead")
	}
	return io.ReadAll(io.LimitReader(s.Stdin, 64<<10))
}

// TokenInArgs reports whether args pass the admin JWT as a command-line
// argument (--jwt), where every user of the machine can read it.
func TokenInArgs(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--jwt" || strings.HasPrefix(a, "--jwt=") {
			return true
		}
	}
	return false
}

// AuthStatus is what personactl knows of its admin token before a run:
// where it comes from, its claims, and whether it would work.
type AuthStatus struct {
	// Source names the flag or variable it comes from; SignedIn: it comes
	// from a sign-in as Email and is renewed as a run goes.
	Source   string
	SignedIn bool
	Email    string
	// Claims are the token's, read without verifying it; IsJWT is false
	// when it could not be read.
	Claims adminapi.TokenClaims
	IsJWT  bool
	// Problem says why a run with it would fail; nil: it would work.
	Problem error
}

// CheckAuth signs in or reads the token as a run would, asks the admin API
// one question with it, and signs out. An error is a source that gives no
// token (none set, a refused sign-in); a token that would not work is
// AuthStatus.Problem.
func CheckAuth(ctx context.Context, s Settings) (AuthStatus, error) {
	u, err := s.AuthURL()
	if err != nil {
		return AuthStatus{}, err
	}
	src, err := s.adminSource()
	if err != nil {
		return AuthStatus{}, err
	}
	c, err := s.client(ctx, u, nil)
	if err != nil {
		return AuthStatus{}, err
	}
	defer c.Close()
	st := AuthStatus{Source: src.name, SignedIn: src.kind == sourceSignIn, Email: s.AdminEmail}
	st.Claims, st.IsJWT = c.TokenClaims()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if exp, ok := c.TokenExpiry(); ok && exp.Sub(now()) < reconcile.TokenMargin {
		st.Problem = fmt.Errorf("the admin token expires at %s, less than %s from now: a run would refuse it; mint a fresh one", exp.UTC().Format(time.RFC3339), reconcile.TokenMargin)
	} else {
		st.Problem = c.CheckAdmin(ctx)
	}
	signOut(c, s.say)
	return st, nil
}

// signOut ends a signed-in client's session, best effort, within 10
// seconds, and warns when it may outlive the run.
func signOut(c *adminapi.Client, warn func(string)) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.SignOut(ctx); err != nil {
		warn("Warning: " + err.Error())
	}
}
