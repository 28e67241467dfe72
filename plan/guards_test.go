package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

func TestCheckGuards(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	liveAt := func(id string, p catalog.Persona, last *time.Time) state.LivePersona {
		l := live(id, p)
		l.LastActiveAt = last
		return l
	}
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	a := persona("persona.a@mana.test", prompt)
	b := persona("persona.b@mana.test", prompt)
	c := persona("persona.c@mana.test", prompt)
	renamedC := with(c, func(p *catalog.Persona) { p.Name = "Cee" })
	// a and b were removed from the catalog (deleted); c is replaced.
	in := Input{
		Desired:  []catalog.Persona{renamedC},
		Recorded: []state.RecordedPersona{rec("ua", a), rec("ub", b), rec("uc", c)},
		Live:     []state.LivePersona{liveAt("ua", a, at(2*time.Hour)), liveAt("ub", b, at(25*time.Hour)), liveAt("uc", c, nil)},
	}
	p := Compute(in, Options{Replace: []string{c.Email}})
	activeC := Compute(Input{Desired: []catalog.Persona{renamedC}, Live: []state.LivePersona{liveAt("uc", c, at(23*time.Hour+59*time.Minute))}}, Options{Replace: []string{c.Email}})
	tests := []struct {
		name   string
		plan   *Plan
		guards Guards
		want   []string // each must be in the error; none means no error
		not    []string
	}{
		{"no limit, active allowed", p, Guards{AllowDeleteActive: true, Now: now}, nil, nil},
		{"3 deletes (a replace counts) within --max-deletes=3", p, Guards{Limit: true, MaxDeletes: 3, AllowDeleteActive: true, Now: now}, nil, nil},
		{"over --max-deletes", p, Guards{Limit: true, MaxDeletes: 2, AllowDeleteActive: true, Now: now},
			[]string{"deletes 3 personas", "--max-deletes=2", "persona.a@mana.test, persona.b@mana.test, persona.c@mana.test (replaced)", "pass --max-deletes=3"}, []string{"active"}},
		{"--max-deletes=0 refuses any delete", p, Guards{Limit: true, MaxDeletes: 0, AllowDeleteActive: true, Now: now}, []string{"more than --max-deletes=0"}, nil},
		{"an active persona", p, Guards{Now: now},
			[]string{"1 persona active in the last 24 hours", "persona.a@mana.test (last active 2026-11-29 10:00 UTC, 2h ago)", "--allow-delete-active"}, []string{"persona.b@mana.test", "max-deletes"}},
		{"a replace of an active persona", activeC, Guards{Now: now},
			[]string{"persona.c@mana.test (replaced) (last active 2026-11-28 12:01 UTC, 23h59m ago)", "--allow-delete-active"}, nil},
		{"both refusals together", p, Guards{Limit: true, MaxDeletes: 1, Now: now},
			[]string{"more than --max-deletes=1", "\n", "active in the last 24 hours: persona.a@mana.test"}, []string{"errors occurred"}},
		{"a zero Now refuses every persona ever active", p, Guards{}, []string{"persona.a@mana.test", "persona.b@mana.test"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.plan.CheckGuards(tt.guards)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("not refused")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("%q says %q", err, n)
				}
			}
		})
	}
}
