package contracttest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// The recordings of testdata/contract/login-race-exchanges.json, replayed
// in order against a fresh mana-auth-dev with a clock that stands still, as
// the recorder sent them back to back: a login with spaces around the
// address is refused before any lookup, and six wrong passwords right after
// a success are all 401, the success's late clearing having erased the
// first of them.
func TestReplayRecordedLoginRaces(t *testing.T) {
	raw, err := os.ReadFile(testdataFile(t, "contract/login-race-exchanges.json"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []loginStep
	if err := json.Unmarshal(raw, &steps); err != nil {
		t.Fatalf("login-race-exchanges.json: %v", err)
	}
	refs := map[string]json.RawMessage{}
	for _, s := range loadSteps(t, "login-exchanges.json") {
		if number, _, _ := strings.Cut(s.Step, " "); s.Response != nil {
			refs["<as in login-exchanges.json step "+number+">"] = s.Response.Body
		}
	}
	t.Parallel()
	for name, opts := range map[string][]devtest.Option{"memory": nil, "postgres": {devtest.WithPostgres()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
			inst := devtest.Start(t, append([]devtest.Option{devtest.WithNow(clock.Now)}, opts...)...)
			r := &loginReplayer{
				env:    &env{url: inst.URL, admin: inst.AdminToken, user: inst.UserToken, inst: inst, store: inst.Store, fresh: true},
				clock:  clock,
				values: map[string]string{"<admin-jwt>": inst.AdminToken},
				refs:   refs,
			}
			replayed := 0
			for _, s := range steps {
				switch {
				case s.Request == nil:
				case len(s.Responses) > 0:
					for i := range s.Responses {
						s.Response = &s.Responses[i]
						r.replay(t, s)
						replayed++
					}
				default:
					r.replay(t, s)
					replayed++
				}
			}
			if replayed != 9 {
				t.Errorf("replayed %d exchanges, want the recording's 9", replayed)
			}
			for _, email := range []string{" persona.uni@mana.test ", "persona.uni@mana.test"} {
				if n := inst.Server.FailedLogins(email); n != 0 {
					t.Errorf("%d failed attempts recorded for %q, want none: the address was refused before any lookup", n, email)
				}
			}
		})
	}
}
