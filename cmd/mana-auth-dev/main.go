// Command mana-auth-dev serves a local stand-in of mana-auth's persona admin
// API (see package manaauthdev) on a loopback address. The first line it
// prints on stdout is the address it listens on.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/manaauthdev"
)

type cli struct {
	Listen     string        `default:"127.0.0.1:3001" help:"Loopback address to listen on; port 0 picks a free port."`
	AdminToken string        `name:"admin-token" placeholder:"TOKEN" help:"A static bearer token of the admin, accepted whole and never expiring. When empty an admin token is minted for --token-ttl and printed."`
	UserToken  string        `name:"user-token" placeholder:"TOKEN" help:"A static bearer token of a valid non-admin user (answered 403); must differ from --admin-token. When empty a user token is minted for --token-ttl and printed."`
	TokenTTL   time.Duration `name:"token-ttl" default:"15m" help:"How long the minted tokens, and the access tokens of a sign-in, a refresh or a login, live, as mana-auth's do (15m); after that the server answers 401 Invalid or expired token."`
	DB         string        `name:"db" placeholder:"postgres://…" help:"Keep the data in this PostgreSQL database. The database itself must exist (createdb NAME); the auth schema and its tables are created in it if missing. In memory when empty."`
	Quiet      bool          `help:"Do not log requests on stderr."`

	FixedRoleClaim    bool   `name:"fixed-role-claim" help:"Issue access tokens claiming the user's role, as mana-auth does once role is in user.additionalFields of better-auth.config.ts. Without it every token claims role user, admins' included, as mana-auth's do today."`
	AdminEmail        string `name:"admin-email" placeholder:"EMAIL" help:"Create a verified admin with this address at start (with --admin-password-file), who signs in as Mana's web app does."`
	AdminPasswordFile string `name:"admin-password-file" placeholder:"PATH" help:"The file holding the password of --admin-email (8 to 128 characters; a final line break is not part of it)."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "mana-auth-dev: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (SIGINT or SIGTERM), then shuts down cleanly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("mana-auth-dev"),
		kong.Description("A local stand-in of mana-auth's persona admin API, quirks included."),
		kong.Writers(stdout, stderr),
	)
	if err != nil {
		return err
	}
	if _, err := parser.Parse(args); err != nil {
		return fmt.Errorf("%w (see --help)", err)
	}
	if err := checkLoopback(c.Listen); err != nil {
		return err
	}
	if c.TokenTTL <= 0 {
		return fmt.Errorf("--token-ttl=%s: a token must live a while; give a positive duration such as 15m or 2h", c.TokenTTL)
	}
	if err := (manaauthdev.Options{AdminToken: c.AdminToken, UserToken: c.UserToken}).Check(); err != nil {
		return fmt.Errorf("--admin-token and --user-token: %w", err)
	}

	var store manaauthdev.Store = manaauthdev.NewMemoryStore()
	if c.DB != "" {
		openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		pg, err := manaauthdev.OpenPostgres(openCtx, c.DB)
		cancel()
		if err != nil {
			return fmt.Errorf("%w; check --db (the database itself must exist: create it with createdb or CREATE DATABASE)", err)
		}
		defer pg.Close()
		store = pg
	}

	var logw io.Writer = stderr
	if c.Quiet {
		logw = nil
	}
	srv := manaauthdev.New(manaauthdev.Options{AdminToken: c.AdminToken, UserToken: c.UserToken, Store: store, Log: logw, TokenTTL: c.TokenTTL, FixedRoleClaim: c.FixedRoleClaim})
	if err := addAdmin(ctx, srv, c.AdminEmail, c.AdminPasswordFile); err != nil {
		return err
	}
	var generated []string
	if c.AdminToken == "" {
		generated = append(generated, "MANA_ADMIN_JWT="+srv.MintToken(manaauthdev.RoleAdmin, c.TokenTTL))
	}
	if c.UserToken == "" {
		generated = append(generated, "MANA_USER_JWT="+srv.MintToken(manaauthdev.RoleUser, c.TokenTTL))
	}

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w; pick another --listen", c.Listen, err)
	}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	for _, line := range generated {
		fmt.Fprintln(stdout, line)
	}
	if len(generated) > 0 {
		fmt.Fprintf(stderr, "mana-auth-dev: the printed tokens expire at %s (--token-ttl=%s); restart it, or give a longer --token-ttl, for new ones\n",
			srv.Now().Add(c.TokenTTL).UTC().Format(time.RFC3339), c.TokenTTL)
	}

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// addAdmin creates the admin that --admin-email and --admin-password-file
// name.
func addAdmin(ctx context.Context, srv *manaauthdev.Server, email, passwordFile string) error {
	if (email == "") != (passwordFile == "") {
		return errors.New("--admin-email and --admin-password-file go together: give both to create an admin, or neither")
	}
	if email == "" {
		return nil
	}
	b, err := os.ReadFile(passwordFile)
	if err != nil {
		return fmt.Errorf("--admin-password-file: %w", err)
	}
	password := strings.TrimRight(string(b), "\r\n")
	if _, err := srv.AddAdmin(ctx, email, password); err != nil {
		return fmt.Errorf("--admin-email=%s: %w; give another address, or a fresh --db", email, err)
	}
	return nil
}

// checkLoopback refuses addresses other machines could reach: the stand-in
// has fixed tokens and no real authentication.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w; use HOST:PORT such as 127.0.0.1:3001", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %q is not a loopback address; mana-auth-dev only listens on 127.0.0.1, ::1 or localhost", addr)
}
