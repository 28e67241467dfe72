package apply

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func events() []Event {
	return []Event{
		{Type: EventBegin, Total: 2},
		{Type: EventStart, Email: "persona.a@mana.test", Action: "create"},
		{Type: EventFinish, Email: "persona.a@mana.test", Action: "create", UserID: "u1", Elapsed: 1500 * time.Millisecond, Done: 1, Total: 2, Since: 2 * time.Second},
		{Type: EventStart, Email: "persona.b@mana.test", Action: "delete"},
		{Type: EventFinish, Email: "persona.b@mana.test", Action: "delete", Err: errors.New("boom"), Elapsed: 100 * time.Millisecond, Done: 2, Total: 2, Since: 4 * time.Second},
	}
}

func TestTextProgressPrintsEveryStepWithElapsedTime(t *testing.T) {
	var b bytes.Buffer
	for _, e := range events() {
		TextProgress(&b)(e)
	}
	want := "persona.a@mana.test: Creating...\npersona.a@mana.test: Creation complete after 1.5s [id=u1]\npersona.b@mana.test: Deleting...\npersona.b@mana.test: Deleting failed after 0.1s: boom\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLiveProgressKeepsOneLine(t *testing.T) {
	var b bytes.Buffer
	for _, e := range events() {
		LiveProgress(&b)(e)
	}
	out := b.String()
	if strings.Count(out, "\n") != 2 { // the failure's own line, and the final newline
		t.Errorf("live progress printed %d lines:\n%q", strings.Count(out, "\n"), out)
	}
	for _, want := range []string{"1/2 personas, 0.5/s, ETA 2.0s", "2/2 personas", "persona.b@mana.test: Deleting failed: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("live progress lacks %q:\n%q", want, out)
		}
	}
}

func TestJSONProgressWritesOneObjectPerLine(t *testing.T) {
	var b bytes.Buffer
	for _, e := range events() {
		JSONProgress(&b)(e)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(events()) {
		t.Fatalf("%d lines for %d events", len(lines), len(events()))
	}
	var last struct {
		Type  string `json:"type"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Type != "step_finish" || last.Error != "boom" {
		t.Errorf("last event = %+v", last)
	}
}
