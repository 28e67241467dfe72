package apply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/plan"
)

func events() []Event {
	return []Event{
		{Type: EventBegin, Total: 2},
		{Type: EventStart, Email: "persona.a@mana.test", Action: plan.Create},
		{Type: EventFinish, Email: "persona.a@mana.test", Action: plan.Create, UserID: "u1", Elapsed: 1500 * time.Millisecond, Done: 1, Total: 2, Since: 2 * time.Second},
		{Type: EventStart, Email: "persona.b@mana.test", Action: plan.Delete},
		{Type: EventFinish, Email: "persona.b@mana.test", Action: plan.Delete, Err: errors.New("boom"), Elapsed: 100 * time.Millisecond, Done: 2, Total: 2, Since: 4 * time.Second},
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

// TestProgressNeutralisesWhatItQuotes: an address, a user id or an error
// from mana-auth holding escape sequences, line breaks or a bidi override
// reaches the terminal escaped; the live line's own "\r\x1b[K" stays.
func TestProgressNeutralisesWhatItQuotes(t *testing.T) {
	const hostile = "\x1b[2J\x1b[31mApply complete!\r\n\u202e"
	evs := []Event{
		{Type: EventBegin, Total: 2},
		{Type: EventStart, Email: "persona.a@mana.test" + hostile, Action: plan.Create},
		{Type: EventFinish, Email: "persona.a@mana.test" + hostile, Action: plan.Create, UserID: "u1" + hostile, Done: 1, Total: 2},
		{Type: EventFinish, Email: "persona.b@mana.test", Action: plan.Update, Err: errors.New("mana-auth answered 500 (" + hostile + ")"), Done: 2, Total: 2},
		{Type: EventRollback, Email: "persona.a@mana.test" + hostile, Action: plan.Create, Err: errors.New(hostile)},
	}
	for name, show := range map[string]func(io.Writer) func(Event){"text": TextProgress, "live": LiveProgress} {
		var b bytes.Buffer
		for _, e := range evs {
			show(&b)(e)
		}
		out := strings.ReplaceAll(b.String(), "\r\x1b[K", "")
		for i, r := range out {
			if (r < 0x20 && r != '\n') || r == 0x202E {
				t.Errorf("%s progress holds %U at byte %d:\n%q", name, r, i, b.String())
				break
			}
		}
		if !strings.Contains(out, `\x1b[2J\x1b[31mApply complete!\r\n\u202e`) {
			t.Errorf("%s progress does not show the escaped text:\n%q", name, out)
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
	// The action is spelled by name, and left out of an event without one.
	if want := `{"type":"step_start","email":"persona.a@mana.test","action":"create"}`; lines[1] != want {
		t.Errorf("first step event = %s, want %s", lines[1], want)
	}
	b.Reset()
	JSONProgress(&b)(Event{Type: EventSummary, Message: "No changes."})
	if got, want := strings.TrimSpace(b.String()), `{"type":"summary","message":"No changes."}`; got != want {
		t.Errorf("summary event = %s, want %s", got, want)
	}
}

// signalWriter records what reaches it and signals each write.
type signalWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	wrote  chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *signalWriter) state() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String(), w.writes
}

// TestBatchedGathersLinesAndKeepsTheirOrder: many small writes reach the
// writer as few large ones, in order, and nothing is left behind by flush.
func TestBatchedGathersLinesAndKeepsTheirOrder(t *testing.T) {
	dst := &signalWriter{wrote: make(chan struct{}, 1)}
	w, flush := Batched(dst, time.Hour) // only size and flush pass it on here
	var want strings.Builder
	for i := range 10_000 {
		line := fmt.Sprintf("persona.p%05d@mana.test: Deletion complete after 0.0s\n", i)
		want.WriteString(line)
		if _, err := io.WriteString(w, line); err != nil {
			t.Fatal(err)
		}
	}
	got, writes := dst.state()
	if writes == 0 || writes > want.Len()/maxPending+1 {
		t.Errorf("%d writes reached the writer before the flush, want 1 to %d", writes, want.Len()/maxPending+1)
	}
	if !strings.HasPrefix(want.String(), got) {
		t.Fatal("what reached the writer is not the start of what was written")
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}
	if got, _ := dst.state(); got != want.String() {
		t.Fatalf("after the flush the writer holds %d bytes, want the %d written, in order", len(got), want.Len())
	}
	// After the flush, writes go straight through.
	io.WriteString(w, "Destroy complete!\n")
	if got, _ := dst.state(); !strings.HasSuffix(got, "Destroy complete!\n") {
		t.Error("a write after the flush did not reach the writer at once")
	}
}

// TestBatchedPassesOnWithinTheInterval: a line that is not followed by
// more still reaches the writer without a flush.
func TestBatchedPassesOnWithinTheInterval(t *testing.T) {
	dst := &signalWriter{wrote: make(chan struct{}, 1)}
	w, flush := Batched(dst, time.Millisecond)
	defer flush()
	io.WriteString(w, "persona.anna@mana.test: Creating...\n")
	select {
	case <-dst.wrote:
	case <-time.After(time.Minute):
		t.Fatal("the line never reached the writer")
	}
	if got, _ := dst.state(); got != "persona.anna@mana.test: Creating...\n" {
		t.Errorf("the writer holds %q", got)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestBatchedReportsTheWritersError: the writer's failure is not lost.
func TestBatchedReportsTheWritersError(t *testing.T) {
	w, flush := Batched(failingWriter{}, time.Hour)
	io.WriteString(w, "a line\n")
	if err := flush(); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("flush = %v, want the writer's error", err)
	}
	if _, err := io.WriteString(w, "another\n"); err == nil {
		t.Error("a write after the failure succeeded")
	}
}

// TestProgressChoosesAtTheFirstEvent: JSON when asked, one live line on a
// terminal for more than 20 steps, else a line per event, which on a
// terminal overwrites what a StatusLine shows.
func TestProgressChoosesAtTheFirstEvent(t *testing.T) {
	for _, tc := range []struct {
		json, terminal bool
		total          int
		want           string
	}{
		{true, true, 50, `{"type":"apply_start"`},
		{false, true, 50, "\r\x1b[K1/50 personas"},
		{false, true, 5, "\r\x1b[Kpersona.a@mana.test: Creating...\n"},
		{false, false, 50, "persona.a@mana.test: Creating..."},
	} {
		var b bytes.Buffer
		show := Progress(&b, tc.json, tc.terminal)
		show(Event{Type: EventBegin, Total: tc.total})
		show(Event{Type: EventStart, Email: "persona.a@mana.test", Action: plan.Create})
		show(Event{Type: EventFinish, Email: "persona.a@mana.test", Action: plan.Create, Done: 1, Total: tc.total, Since: time.Second})
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("json=%v terminal=%v total=%d: output %q does not hold %q", tc.json, tc.terminal, tc.total, b.String(), tc.want)
		}
	}
}

// TestStatusLine: on a terminal the news of retries shares one line, each
// piece replacing the last, and is cleared before anything else is
// written and when it is over; elsewhere each piece is a line.
func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		terminal bool
		want     string
	}{
		{true, "\r\x1b[Kretry 2\r\x1b[Kretry 3\r\x1b[KWarning: w\n\r\x1b[Kretry 4\r\x1b[K"},
		{false, "retry 2\nretry 3\nWarning: w\nretry 4\n"},
	} {
		var b bytes.Buffer
		l := NewStatusLine(&b, tc.terminal)
		l.Show("retry 2")
		l.Show("retry 3")
		fmt.Fprintln(l, "Warning: w")
		l.Show("")
		l.Show("retry 4")
		l.Show("")
		l.Show("")
		if b.String() != tc.want {
			t.Errorf("terminal=%v: %q, want %q", tc.terminal, b.String(), tc.want)
		}
	}
}
