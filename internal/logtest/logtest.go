// Package logtest records what code writes to a *slog.Logger, for the tests
// that check the debug log: every record at debug level and above, as the
// JSON lines PERSONACTL_LOG_FORMAT=json writes. Production code must never
// import it.
package logtest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// Log holds the records written to its logger. It is safe for concurrent use.
type Log struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	seen  map[string]bool
	waits map[string]chan struct{}
}

// New returns a logger at debug level and the Log it writes to.
func New() (*slog.Logger, *Log) {
	l := &Log{seen: map[string]bool{}, waits: map[string]chan struct{}{}}
	return slog.New(handler{slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}), l}), l
}

// Write takes one JSON line from the handler.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Text is everything written, one JSON record a line.
func (l *Log) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Records returns the records whose message is msg, in order, each as its
// JSON object ("" returns them all).
func (l *Log) Records(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.Text()), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && (msg == "" || r["msg"] == msg) {
			out = append(out, r)
		}
	}
	return out
}

// Messages returns the messages of all records, in order.
func (l *Log) Messages() []string {
	var out []string
	for _, r := range l.Records("") {
		out = append(out, r["msg"].(string))
	}
	return out
}

// Seen is closed once a record with message msg has been written.
func (l *Log) Seen(msg string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wait(msg)
}

func (l *Log) wait(msg string) chan struct{} {
	ch, ok := l.waits[msg]
	if !ok {
		ch = make(chan struct{})
		l.waits[msg] = ch
		if l.seen[msg] {
			close(ch)
		}
	}
	return ch
}

func (l *Log) note(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seen[msg] {
		ch := l.wait(msg)
		l.seen[msg] = true
		close(ch)
	}
}

// handler tells the Log of each record's message once it is written.
type handler struct {
	slog.Handler
	log *Log
}

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	h.log.note(r.Message)
	return err
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs), h.log}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{h.Handler.WithGroup(name), h.log}
}
