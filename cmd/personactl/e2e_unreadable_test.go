package main

import (
	"context"
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

// TestE2EPersonaTooLargeToRead: mana-auth holds a persona whose detail is
// over the 4 MiB personactl reads (a prompt of megabytes, stored before the
// catalog refused such a persona; put in its database here, since
// personactl no longer writes one). Every command used to fail on it. Now
// the plan names it with its user id and goes on, export refuses naming
// it, a destroy of another persona works, and destroy --all --target
// deletes it by the id the list gave; the next apply creates it again.
func TestE2EPersonaTooLargeToRead(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	big, other := e.personas[0].Email, e.personas[1].Email
	id := e.live()[big].UserID
	huge := strings.Repeat("Du bist sehr ausführlich. ", (5<<20)/26)
	if err := e.inst.Store.EditPersona(context.Background(), id, manaauthdev.PersonaEdit{SystemPrompt: &huge}); err != nil {
		t.Fatal(err)
	}
	named := big + " (user " + id + ")"

	r := e.must(2, "plan", "--detailed-exitcode")
	if !strings.Contains(r.err+r.out, named) || !strings.Contains(r.out, "Nothing to apply; 1 persona needs attention") {
		t.Errorf("plan does not name the unreadable persona and go on\n%s", r)
	}
	r = e.must(0, "drift")
	if !strings.Contains(r.err+r.out, named) {
		t.Errorf("drift does not name the unreadable persona\n%s", r)
	}
	r = e.must(1, "export")
	if !strings.Contains(r.err, named) || !strings.Contains(r.err, "destroy --all --target="+big) {
		t.Errorf("export does not name the persona it cannot export\n%s", r)
	}

	e.must(0, "destroy", "--auto-approve", "--target="+other)
	if _, ok := e.live()[other]; ok {
		t.Errorf("destroy --target=%s left it live", other)
	}
	r = e.must(0, "destroy", "--all", "--auto-approve", "--target="+big)
	if _, ok := e.live()[big]; ok || !strings.Contains(r.out, "1 deleted") {
		t.Errorf("destroy --all --target did not delete the unreadable persona\n%s", r)
	}
	if n, err := e.inst.Store.RowCounts(context.Background(), id); err != nil || n.Users != 0 {
		t.Errorf("user %s: %+v, %v after its delete", id, n, err)
	}
	e.must(0, "apply", "--auto-approve")
	e.must(0, "plan", "--detailed-exitcode")
}
