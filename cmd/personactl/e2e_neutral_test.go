package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

// hostileMessage is an error message a server could send: it clears the
// screen, prints a red fake success, starts a Markdown heading on a line
// of its own, and carries HTML and an HTML comment.
const hostileMessage = "\x1b[2J\x1b[31mApply complete!\n## heading <img src=x onerror=alert(1)> <!--"

// frontWith serves e's mana-auth-dev behind a server of its own, which
// answers the requests answer picks itself; MANA_AUTH_URL points at it.
func frontWith(t *testing.T, e *e2e, answer func(w http.ResponseWriter, r *http.Request) bool) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answer(w, r) {
			e.inst.Server.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("MANA_AUTH_URL", srv.URL)
}

// refuse writes status and a JSON error envelope whose message is msg.
func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": msg})
}

// TestE2EServerMessageCannotActOnTheTerminal: mana-auth answers every
// create with a 500 whose message holds escape sequences and a line
// break. The apply fails; its process's standard output and error hold
// no escape byte and no line of the server's, and show the message
// escaped.
func TestE2EServerMessageCannotActOnTheTerminal(t *testing.T) {
	e := newE2E(t)
	frontWith(t, e, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && r.URL.Path == manaauthdev.PathPersonas {
			refuse(w, http.StatusInternalServerError, hostileMessage)
			return true
		}
		return false
	})
	p := startProc(t, buildPersonactl(t), nil, "apply", "--auto-approve", "--parallelism=1")
	var exit interface{ ExitCode() int }
	if err := p.wait(t); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("apply: %v, want exit 1\n%s", err, p)
	}
	for name, out := range map[string]string{"standard output": p.out.String(), "standard error": p.err.String()} {
		if i := strings.IndexFunc(out, func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
			t.Errorf("%s holds %q at byte %d:\n%q", name, out[i], i, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "## heading") || strings.HasPrefix(l, "Apply complete!") {
				t.Errorf("%s has a line of the server's: %q", name, l)
			}
		}
	}
	if !strings.Contains(p.err.String(), `\x1b[2J\x1b[31mApply complete!\n## heading`) {
		t.Errorf("standard error does not show the server's message escaped:\n%s", p)
	}
}

// TestE2EVerifyMarkdownKeepsItsTable: mana-auth refuses each login with a
// 400 whose message holds a line break, a heading, HTML and an HTML
// comment. verify --format=markdown still prints one table row per
// persona, with no raw HTML and no heading.
func TestE2EVerifyMarkdownKeepsItsTable(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	frontWith(t, e, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == manaauthdev.PathLogin {
			refuse(w, http.StatusBadRequest, hostileMessage)
			return true
		}
		return false
	})
	r := e.run("verify", "--format=markdown")
	if r.code != 1 {
		t.Fatalf("verify: want exit 1 (the logins' outcome is an error)\n%s", r)
	}
	rows := 0
	for _, l := range strings.Split(r.out, "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
			t.Errorf("a line is a heading: %s", l)
		case strings.HasPrefix(l, "| `"):
			rows++
			if cells := strings.Count(l, "|") - strings.Count(l, `\|`); cells != 4 {
				t.Errorf("a row has %d cell separators, want 4: %s", cells, l)
			}
		}
	}
	if rows != len(e.personas) {
		t.Errorf("the table has %d rows, want %d:\n%s", rows, len(e.personas), r.out)
	}
	if strings.ContainsAny(r.out, "<>\x1b") {
		t.Errorf("the Markdown holds raw HTML or an escape byte:\n%s", r.out)
	}
	if bytes.ContainsRune([]byte(r.err), 0x1b) {
		t.Errorf("standard error holds an escape byte:\n%s", r.err)
	}
}

// TestExitStatusEscapesAllButItsOwnLineBreaks: an error that quotes outside
// text not neutralised where it entered (a database's message, say) still
// reaches the terminal with every control character escaped; personactl's
// own multi-line errors keep their lines.
func TestExitStatusEscapesAllButItsOwnLineBreaks(t *testing.T) {
	var b bytes.Buffer
	code := exitStatus(&b, errors.New("2 steps failed:\n  persona.a@mana.test: \x1b[2Jcleared\r\u202e\x9b\n  persona.b@mana.test: fine"))
	want := "Error: 2 steps failed:\n  persona.a@mana.test: \\x1b[2Jcleared\\r\\u202e\\x9b\n  persona.b@mana.test: fine\n"
	if code != 1 || b.String() != want {
		t.Errorf("exitStatus = %d, printed %q; want 1, %q", code, b.String(), want)
	}
}
