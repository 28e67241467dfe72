package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// TestOpenLog: PERSONACTL_LOG and --debug choose the level, and
// PERSONACTL_LOG_FORMAT the format; unasked, nothing is logged; a level or
// format it does not know is an error saying what it takes.
func TestOpenLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		debug bool
		want  string // the records written, by level; or the error's words
	}{
		{"off", nil, false, ""},
		{"--debug", nil, true, "level=DEBUG msg=d\nlevel=INFO msg=i\n"},
		{"debug", map[string]string{"PERSONACTL_LOG": "debug"}, false, "level=DEBUG msg=d\nlevel=INFO msg=i\n"},
		{"info", map[string]string{"PERSONACTL_LOG": "INFO"}, false, "level=INFO msg=i\n"},
		{"--debug beats info", map[string]string{"PERSONACTL_LOG": "info"}, true, "level=DEBUG msg=d\nlevel=INFO msg=i\n"},
		{"json", map[string]string{"PERSONACTL_LOG": "info", "PERSONACTL_LOG_FORMAT": "json"}, false, `{"level":"INFO","msg":"i"}` + "\n"},
		{"unknown level", map[string]string{"PERSONACTL_LOG": "trace"}, false, `PERSONACTL_LOG="trace": the levels are debug and info`},
		{"unknown format", map[string]string{"PERSONACTL_LOG_FORMAT": "xml"}, true, `PERSONACTL_LOG_FORMAT="xml": the formats are text and json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			log, closeLog, err := OpenLog(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, tc.debug, &stderr)
			if strings.Contains(tc.want, "PERSONACTL_") {
				wantError(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Info("i")
			if err := closeLog(); err != nil {
				t.Fatal(err)
			}
			got := timeStamp.ReplaceAllString(stderr.String(), "")
			if got != tc.want {
				t.Errorf("the log is\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestOpenLogAppendsToItsFile: PERSONACTL_LOG_PATH is appended to, and
// created readable by its owner only; a path it cannot open is an error
// saying what to do.
func TestOpenLogAppendsToItsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.log")
	env := map[string]string{"PERSONACTL_LOG_PATH": path, "PERSONACTL_LOG_FORMAT": "json"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var stderr bytes.Buffer
	for _, msg := range []string{"first run", "second run"} {
		log, closeLog, err := OpenLog(lookup, true, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		log.Info(msg)
		if err := closeLog(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("a line of the log is not JSON: %q", line)
		}
		msgs = append(msgs, r.Msg)
	}
	if strings.Join(msgs, ", ") != "first run, second run" || stderr.Len() != 0 {
		t.Errorf("the file holds %q and stderr %q; want both runs in the file, nothing on stderr", msgs, stderr.String())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the log file's mode is %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	env["PERSONACTL_LOG_PATH"] = filepath.Dir(path)
	_, _, err = OpenLog(lookup, true, &stderr)
	wantError(t, err, "PERSONACTL_LOG_PATH", "name a file personactl may append to")
}

// TestOpenHandsTheLogToEachAdapter: the requests of the admin API client and
// the lock of the state are logged through Settings.Log.
func TestOpenHandsTheLogToEachAdapter(t *testing.T) {
	inst := devtest.Start(t)
	s := settings(t)
	s.Auth, s.Token = inst.URL, inst.AdminToken
	log, records := logtest.New()
	s.Log = log
	ctx := context.Background()
	r, err := Open(ctx, s, Needs{Writes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Live.Personas(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := r.Backend.Lock(ctx, "plan", 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if len(records.Records("http")) == 0 || len(records.Records("lock taken")) != 1 {
		t.Errorf("the log has %q; want the requests and the lock", records.Messages())
	}
}

// timeStamp matches the time of a record, which varies.
var timeStamp = regexp.MustCompile(`time=\S+ |"time":"[^"]*",`)
