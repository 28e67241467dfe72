package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/manaauthdev/devtest"
)

func TestRunPrintsItsAddressFirstAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--admin-token", "adm", "--user-token", "usr", "--quiet"}, outW, io.Discard)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	url := lines.Text()
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("first line = %q, want the address listened on", url)
	}
	go io.Copy(io.Discard, outR)

	req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/admin/personas", nil)
	req.Header.Set("Authorization", "Bearer adm")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"personas":[]}` {
		t.Fatalf("GET list with --admin-token: %d %s", resp.StatusCode, body)
	}

	cancel() // as SIGINT does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
}

func TestRunPrintsGeneratedTokensAfterTheAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen=127.0.0.1:0", "--quiet"}, outW, io.Discard)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	var got []string
	for len(got) < 3 && lines.Scan() {
		got = append(got, lines.Text())
	}
	cancel()
	go io.Copy(io.Discard, outR)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "http://127.0.0.1:") ||
		!strings.HasPrefix(got[1], "MANA_ADMIN_JWT=") || !strings.HasPrefix(got[2], "MANA_USER_JWT=") {
		t.Fatalf("output = %q, want the address, then MANA_ADMIN_JWT=… and MANA_USER_JWT=…", got)
	}
}

func TestRunRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:3001", ":3001", "192.0.2.1:3001", "example.com:3001", "[::]:3001"} {
		err := run(context.Background(), []string{"--listen", addr}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--listen %s: err = %v, want a refusal naming loopback", addr, err)
		}
	}
}

// startRun runs the command and returns the lines of its stdout until want
// lines were read, and a function that stops it.
func startRun(t *testing.T, want int, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, outW, io.Discard)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	var got []string
	for len(got) < want && lines.Scan() {
		got = append(got, lines.Text())
	}
	go io.Copy(io.Discard, outR)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	if len(got) < want {
		t.Fatalf("output %q, want %d lines", got, want)
	}
	return got
}

func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMintedTokensLiveTokenTTL(t *testing.T) {
	for _, c := range []struct {
		args []string
		ttl  float64
	}{
		{nil, 900}, // mana-auth's 15 minutes
		{[]string{"--token-ttl=2h"}, 7200},
	} {
		out := startRun(t, 3, append([]string{"--listen=127.0.0.1:0", "--quiet"}, c.args...)...)
		for _, line := range out[1:] {
			_, token, _ := strings.Cut(line, "=")
			cl := claims(t, token)
			if cl["exp"].(float64)-cl["iat"].(float64) != c.ttl {
				t.Errorf("%v: %s lives %v s, want %v", c.args, line[:strings.Index(line, "=")], cl["exp"].(float64)-cl["iat"].(float64), c.ttl)
			}
		}
		admin := strings.TrimPrefix(out[1], "MANA_ADMIN_JWT=")
		user := strings.TrimPrefix(out[2], "MANA_USER_JWT=")
		for token, want := range map[string]int{admin: 200, user: 403, "forged." + admin[strings.Index(admin, ".")+1:]: 401} {
			req, _ := http.NewRequest(http.MethodGet, out[0]+"/api/v1/admin/personas", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%v: GET list with a printed token: %d, want %d", c.args, resp.StatusCode, want)
			}
		}
	}
}

func TestRunRefusesBadTokenSettings(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--admin-token=same", "--user-token=same"}, []string{"--admin-token and --user-token", "same string", "give them different values"}},
		{[]string{"--token-ttl=0s"}, []string{"--token-ttl=0s", "positive duration"}},
		{[]string{"--token-ttl=-5m"}, []string{"--token-ttl=-5m0s", "positive duration"}},
	}
	for _, c := range cases {
		err := run(context.Background(), append([]string{"--listen=127.0.0.1:0", "--quiet"}, c.args...), io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%v: started, want a refusal", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v\n  want it to say %q", c.args, err, w)
			}
		}
	}
}

func TestDBHelpAndErrorSayTheDatabaseMustExist(t *testing.T) {
	var help strings.Builder
	parser, err := kong.New(&cli{}, kong.Name("mana-auth-dev"), kong.Writers(&help, &help), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	parser.Parse([]string{"--help"})
	if !strings.Contains(help.String(), "The database itself must exist") {
		t.Errorf("--help does not say that --db's database must exist:\n%s", help.String())
	}

	dsn := devtest.FreshDatabase(t) // an empty database: the server is reachable
	missing := strings.Replace(dsn, "/manaauthdev_", "/manaauthdev_missing_", 1)
	err = run(context.Background(), []string{"--listen=127.0.0.1:0", "--quiet", "--db=" + missing}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "the database itself must exist") {
		t.Errorf("--db naming a missing database: %v, want the server's words and that the database must exist", err)
	}
}

// TestAdminCreatedAtStart: --admin-email and --admin-password-file create
// an admin who signs in as the web app does and refreshes a token of
// --token-ttl; its role claim is "user", as mana-auth's today (the admin
// API answers 403), or with --fixed-role-claim "admin" (200).
func TestAdminCreatedAtStart(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("admin-password-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fixed  bool
		role   string
		status int
	}{{false, "user", 403}, {true, "admin", 200}} {
		args := []string{"--listen=127.0.0.1:0", "--quiet", "--admin-token=adm", "--user-token=usr", "--token-ttl=2m", "--admin-email=ops@example.test", "--admin-password-file=" + pwFile}
		if c.fixed {
			args = append(args, "--fixed-role-claim")
		}
		base := startRun(t, 1, args...)[0]
		resp, err := http.Post(base+"/api/auth/sign-in/email", "application/json", strings.NewReader(`{"email":"ops@example.test","password":"admin-password-123"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookie, _, _ := strings.Cut(resp.Header.Get("Set-Cookie"), ";")
		if resp.StatusCode != 200 || cookie == "" {
			t.Fatalf("fixed=%v: sign-in as the admin: %s, cookie %q", c.fixed, resp.Status, cookie)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/auth/refresh", nil)
		req.Header.Set("Cookie", cookie)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct{ AccessToken string }
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		cl := claims(t, answer.AccessToken)
		if cl["role"] != c.role || cl["exp"].(float64)-cl["iat"].(float64) != 120 {
			t.Errorf("fixed=%v: the refreshed token claims role %v and lives %v s, want %s and 120", c.fixed, cl["role"], cl["exp"].(float64)-cl["iat"].(float64), c.role)
		}
		req, _ = http.NewRequest(http.MethodGet, base+"/api/v1/admin/personas", nil)
		req.Header.Set("Authorization", "Bearer "+answer.AccessToken)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("fixed=%v: the admin API answers the admin's token with %d, want %d", c.fixed, resp.StatusCode, c.status)
		}
	}
	err := run(context.Background(), []string{"--listen=127.0.0.1:0", "--quiet", "--admin-email=ops@example.test"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("--admin-email without a password file: %v", err)
	}
}
