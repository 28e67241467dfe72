package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mana/personactl/internal/neutral"
	"github.com/mana/personactl/plan"
)

// EventType names a progress event.
type EventType string

// The progress events of a run, in the order they come.
const (
	EventBegin    EventType = "apply_start"
	EventStart    EventType = "step_start"
	EventFinish   EventType = "step_finish"
	EventRollback EventType = "rollback"
	EventHalt     EventType = "halt"
	// EventInterrupt: the run was asked to stop and kept what it did; its
	// Message is the line the run ends with.
	EventInterrupt EventType = "interrupted"
	EventSummary   EventType = "summary"
)

// Event is one moment of a run's progress.
type Event struct {
	Type    EventType
	Email   string
	Action  plan.Action
	UserID  string
	Err     error
	Elapsed time.Duration
	// Done and Total count finished and planned write steps; Since is the
	// time since the first step started.
	Done, Total int
	Since       time.Duration
	Message     string
}

// Progress returns how a run's events are shown on w: JSON Lines when
// asJSON, else one line kept up to date on a terminal when the run has
// more than 20 steps (which the first event, EventBegin, says), else a
// line per event. The choice is made at the first event; calls must not
// overlap (Run makes them one at a time).
func Progress(w io.Writer, asJSON, terminal bool) func(Event) {
	var show func(Event)
	return func(e Event) {
		if show == nil {
			switch {
			case asJSON:
				show = JSONProgress(w)
			case terminal && e.Total > 20:
				show = LiveProgress(w)
			case terminal:
				// Each line overwrites what a StatusLine may show.
				show = TextProgress(clearingLine{w})
			default:
				show = TextProgress(w)
			}
		}
		show(e)
	}
}

// TextProgress prints a line per started and finished step, Terraform style:
//
//	persona.anna@mana.test: Creating...
//	persona.anna@mana.test: Creation complete after 0.1s [id=Nzt7raZt]
func TextProgress(w io.Writer) func(Event) {
	return func(e Event) {
		e = shown(e)
		switch e.Type {
		case EventStart:
			fmt.Fprintf(w, "%s: %s...\n", e.Email, verb(e.Action, false))
		case EventFinish:
			if e.Err != nil {
				fmt.Fprintf(w, "%s: %s failed after %s: %v\n", e.Email, verb(e.Action, false), seconds(e.Elapsed), e.Err)
				return
			}
			id := ""
			if e.UserID != "" {
				id = fmt.Sprintf(" [id=%s]", e.UserID)
			}
			fmt.Fprintf(w, "%s: %s complete after %s%s\n", e.Email, verb(e.Action, true), seconds(e.Elapsed), id)
		case EventHalt:
			fmt.Fprintf(w, "Stopping at once: %s\n", e.Message)
		case EventRollback:
			switch {
			case e.Email == "":
				fmt.Fprintf(w, "A step failed: %s...\n", e.Message)
			case e.Err != nil:
				fmt.Fprintf(w, "%s: rollback of the %s failed: %v\n", e.Email, e.Action, e.Err)
			default:
				fmt.Fprintf(w, "%s: %s rolled back\n", e.Email, e.Action)
			}
		}
	}
}

// LiveProgress keeps one line up to date on a terminal (done/total, rate,
// ETA) instead of a line per step; failures still get a line of their own.
func LiveProgress(w io.Writer) func(Event) {
	return func(e Event) {
		switch e.Type {
		case EventFinish:
			if e.Err != nil {
				s := shown(e)
				fmt.Fprintf(w, "\r\x1b[K%s: %s failed: %v\n", s.Email, verb(s.Action, false), s.Err)
			}
			rate := 0.0
			if e.Since > 0 {
				rate = float64(e.Done) / e.Since.Seconds()
			}
			eta := "?"
			if rate > 0 {
				eta = seconds(time.Duration(float64(e.Total-e.Done) / rate * float64(time.Second)))
			}
			fmt.Fprintf(w, "\r\x1b[K%d/%d personas, %.1f/s, ETA %s", e.Done, e.Total, rate, eta)
			if e.Done == e.Total {
				fmt.Fprintln(w)
			}
		case EventRollback, EventHalt, EventInterrupt:
			fmt.Fprint(w, "\r\x1b[K")
			TextProgress(w)(e)
		}
	}
}

// shown is e as a terminal may show it: the address and the user id come
// from mana-auth or the catalog, and the error may quote mana-auth, so none
// of them may hold a character that acts on the terminal.
func shown(e Event) Event {
	e.Email, e.UserID = neutral.Text(e.Email), neutral.Text(e.UserID)
	if e.Err != nil {
		e.Err = errors.New(neutral.Lines(e.Err.Error()))
	}
	return e
}

// clearingLine starts each write at the start of a cleared line.
type clearingLine struct{ w io.Writer }

func (c clearingLine) Write(p []byte) (int, error) {
	if _, err := c.w.Write(append([]byte("\r\x1b[K"), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// StatusLine shows news that passes, such as a retry under way, on w, and
// passes on to w what else is written to it. Off a terminal each piece of
// news is a line of its own. On a terminal the news is shown on one line
// that each piece replaces rather than scrolls, cleared by Show("") and
// before anything else written through the StatusLine; the lines of a
// run's progress overwrite it too. It is safe for concurrent use.
type StatusLine struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	shown    bool
}

// NewStatusLine returns a StatusLine on w, a terminal when terminal is set.
func NewStatusLine(w io.Writer, terminal bool) *StatusLine {
	return &StatusLine{w: w, terminal: terminal}
}

// Show shows news; "" clears what a terminal shows.
func (l *StatusLine) Show(news string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.terminal:
		if news != "" {
			fmt.Fprintln(l.w, news)
		}
	case news != "":
		fmt.Fprint(l.w, "\r\x1b[K"+news)
		l.shown = true
	case l.shown:
		fmt.Fprint(l.w, "\r\x1b[K")
		l.shown = false
	}
}

// Write clears the news a terminal shows, then writes p.
func (l *StatusLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shown {
		fmt.Fprint(l.w, "\r\x1b[K")
		l.shown = false
	}
	return l.w.Write(p)
}

// jsonEvent is one line of --format=json apply output.
type jsonEvent struct {
	Type      EventType   `json:"type"`
	Email     string      `json:"email,omitempty"`
	Action    plan.Action `json:"action,omitempty"`
	UserID    string      `json:"user_id,omitempty"`
	Error     string      `json:"error,omitempty"`
	ElapsedMS int64       `json:"elapsed_ms,omitempty"`
	Done      int         `json:"done,omitempty"`
	Total     int         `json:"total,omitempty"`
	Message   string      `json:"message,omitempty"`
}

// JSONProgress writes one JSON object per line per event.
func JSONProgress(w io.Writer) func(Event) {
	enc := json.NewEncoder(w)
	return func(e Event) {
		je := jsonEvent{Type: e.Type, Email: e.Email, Action: e.Action, UserID: e.UserID, ElapsedMS: e.Elapsed.Milliseconds(), Done: e.Done, Total: e.Total, Message: e.Message}
		if e.Err != nil {
			je.Error = e.Err.Error()
		}
		_ = enc.Encode(je) // progress is best effort; the result is reported separately
	}
}

func verb(action plan.Action, done bool) string {
	v := map[plan.Action][2]string{
		plan.Create:  {"Creating", "Creation"},
		plan.Update:  {"Updating", "Update"},
		plan.Delete:  {"Deleting", "Deletion"},
		plan.Replace: {"Replacing", "Replacement"},
	}[action]
	if v[0] == "" {
		return action.String()
	}
	if done {
		return v[1]
	}
	return v[0]
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// maxPending is how much Batched gathers before passing it on at once.
const maxPending = 64 << 10

// Batched returns a writer that gathers what is written to it and passes
// it on to w at most every interval (at once past 64 KiB), and a flush
// that passes on the rest and makes later writes go straight through.
// A run printing a line per step then costs w a write per interval rather
// than two per step; what reaches w keeps its order. The first error of w
// is returned by the writes after it and by flush.
func Batched(w io.Writer, interval time.Duration) (io.Writer, func() error) {
	b := &batched{w: w, interval: interval}
	return b, b.flush
}

type batched struct {
	mu       sync.Mutex
	w        io.Writer
	interval time.Duration
	buf      []byte
	timer    *time.Timer // set while something waits to be passed on
	done     bool        // flushed for good: write through
	err      error
}

func (b *batched) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		n, err := b.w.Write(p)
		b.err = err
		return n, err
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= maxPending {
		b.passOn()
	} else if b.timer == nil {
		b.timer = time.AfterFunc(b.interval, b.tick)
	}
	return len(p), b.err
}

func (b *batched) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.passOn()
}

// passOn writes what is gathered to w; the caller holds b.mu.
func (b *batched) passOn() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) > 0 && b.err == nil {
		_, b.err = b.w.Write(b.buf)
	}
	b.buf = b.buf[:0]
}

func (b *batched) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.passOn()
	b.done = true
	return b.err
}
