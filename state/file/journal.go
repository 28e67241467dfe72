package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/state"
)

// PATH.journal is a JSON Lines file: one record per line, each with a type.
//
//	{"type":"journal","version":2}                       first line
//	{"type":"open","id":…,"operation":…,"who":…,"host":…,"started":…,"plan":"…","before":[…]}
//	{"type":"steps","id":…,"steps":[…]}                  one per batch of finished steps
//	{"type":"close","id":…,"closed":…,"outcome":…}
//
// A run appends (write, then fsync) and never rewrites what is there, except
// when it closes its entry: then the file is rewritten once, atomically,
// without the closed entry's plan and before-images and without the runs
// beyond retention. A last line without its newline is a write that a crash
// cut short; it is ignored with a warning, and the next append cuts it off.

// journalVersion is the version of the journal file's layout.
const journalVersion = 2

// Record types of the journal file.
const (
	recHeader = "journal"
	recOpen   = "open"
	recSteps  = "steps"
	recClose  = "close"
)

// record is one line of the journal file. The plan is text rather than
// base64, so that a person (or a scan for leaked secrets) reads it as it is.
type record struct {
	Type      string              `json:"type"`
	Version   int                 `json:"version,omitempty"`
	ID        string              `json:"id,omitempty"`
	Operation string              `json:"operation,omitempty"`
	Who       string              `json:"who,omitempty"`
	Host      string              `json:"host,omitempty"`
	Started   time.Time           `json:"started,omitzero"`
	Plan      string              `json:"plan,omitempty"`
	Before    []state.BeforeImage `json:"before,omitempty"`
	Steps     []state.JournalStep `json:"steps,omitempty"`
	Closed    time.Time           `json:"closed,omitzero"`
	Outcome   string              `json:"outcome,omitempty"`
}

// journal is the journal file read into entries, in the order they were opened.
type journal struct {
	entries []*state.JournalEntry
	byID    map[string]*state.JournalEntry
}

func (j *journal) add(e *state.JournalEntry) {
	j.entries = append(j.entries, e)
	j.byID[e.ID] = e
}

// OpenJournals returns the entries that interrupted runs left open, oldest
// first. Only their records are decoded; the runs that ended are passed
// over by their type and ID.
func (b *Backend) OpenJournals(ctx context.Context) ([]state.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read journal %s: %w", b.journalPath(), err)
	}
	j, err := b.readOpenEntries()
	if err != nil {
		return nil, err
	}
	var open []state.JournalEntry
	for _, e := range j.entries {
		if e.Closed.IsZero() {
			open = append(open, *e)
		}
	}
	sort.SliceStable(open, func(a, b int) bool { return open[a].Started.Before(open[b].Started) })
	return open, nil
}

// readOpenEntries reads the entries of the journal that are still open,
// decoded whole.
func (b *Backend) readOpenEntries() (*journal, error) {
	path := b.journalPath()
	data, err := b.journalBytes()
	if err != nil {
		return nil, err
	}
	skel, lines, err := scanJournal(path, data, b.warn)
	if err != nil {
		return nil, err
	}
	j := &journal{byID: map[string]*state.JournalEntry{}}
	for _, ln := range lines {
		e := skel.byID[ln.id]
		if e != nil && e.Closed.IsZero() {
			if err := j.decodeLine(path, ln); err != nil {
				return nil, err
			}
		}
	}
	return j, nil
}

// History returns up to limit runs, newest first, without plans or before-images.
func (b *Backend) History(ctx context.Context, limit int) ([]state.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read journal %s: %w", b.journalPath(), err)
	}
	j, err := b.readJournal()
	if err != nil {
		return nil, err
	}
	out := make([]state.JournalEntry, 0, len(j.entries))
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := *j.entries[i]
		e.Plan, e.Before = nil, nil
		out = append(out, e)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Started.After(out[b].Started) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// readJournal reads PATH.journal; a missing file is an empty journal.
func (b *Backend) readJournal() (*journal, error) {
	data, err := b.journalBytes()
	if err != nil {
		return nil, err
	}
	return parseJournal(b.journalPath(), data, b.warn)
}

// journalBytes reads PATH.journal; a missing file reads as empty.
func (b *Backend) journalBytes() ([]byte, error) {
	data, err := os.ReadFile(b.journalPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w; check the file's owner and mode", err)
	}
	return data, nil
}

// parseJournal parses the journal file's bytes; warn hears of a torn last line.
func parseJournal(path string, data []byte, warn func(string)) (*journal, error) {
	j := &journal{byID: map[string]*state.JournalEntry{}}
	err := eachLine(path, data, warn, func(ln line) error { return j.decodeLine(path, ln) })
	if err != nil {
		return nil, err
	}
	return j, nil
}

// moveAside is what to do with a journal that cannot be read.
const moveAside = "it only records runs: move it aside and run `personactl plan` to compare the state with what is live"

// line is one record of the journal file, with its type and entry ID.
type line struct {
	no      int    // 1-based
	text    []byte // without the newline
	typ, id string // set by scanJournal
}

// eachLine calls fn with every non-blank line of a journal of version 2; a
// last line without its newline was cut short by a crash: that batch was
// never reported durable, so it is dropped with a warning.
func eachLine(path string, data []byte, warn func(string), fn func(line) error) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil // an empty journal, whatever white space it holds
	}
	no := 0
	for len(data) > 0 {
		no++
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			warn(fmt.Sprintf("journal %s: line %d was cut short by an interrupted write and is ignored (%d bytes)", path, no, len(data)))
			return nil
		}
		text := data[:nl]
		data = data[nl+1:]
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if err := fn(line{no: no, text: text}); err != nil {
			return err
		}
	}
	return nil
}

// decodeLine decodes ln whole and adds it to j.
func (j *journal) decodeLine(path string, ln line) error {
	var r record
	if err := json.Unmarshal(ln.text, &r); err != nil {
		return fmt.Errorf("journal %s: line %d is not a journal record (%v); %s", path, ln.no, err, moveAside)
	}
	if err := j.apply(r); err != nil {
		return fmt.Errorf("journal %s: line %d: %v; %s", path, ln.no, err, moveAside)
	}
	return nil
}

// Open and steps records as appendRecords writes them begin with their
// type and ID, and are the long ones: scanJournal reads these two from the
// line's start instead of decoding it.
var (
	openPrefix  = []byte(`{"type":"open","id":"`)
	stepsPrefix = []byte(`{"type":"steps","id":"`)
)

// scanJournal reads a journal of version 2 as a skeleton: every entry with
// its times and outcome, without plans, before-images or steps, and the
// lines with their type and entry ID. The record checks hold as in
// parseJournal; the content of open and steps lines is not decoded.
func scanJournal(path string, data []byte, warn func(string)) (*journal, []line, error) {
	j := &journal{byID: map[string]*state.JournalEntry{}}
	var lines []line
	err := eachLine(path, data, warn, func(ln line) error {
		var r record
		if id, ok := prefixedID(ln.text, openPrefix); ok {
			r = record{Type: recOpen, ID: id}
		} else if id, ok := prefixedID(ln.text, stepsPrefix); ok {
			r = record{Type: recSteps, ID: id}
		} else if err := json.Unmarshal(ln.text, &r); err != nil {
			return fmt.Errorf("journal %s: line %d is not a journal record (%v); %s", path, ln.no, err, moveAside)
		}
		r.Steps, r.Before, r.Plan = nil, nil, ""
		if err := j.apply(r); err != nil {
			return fmt.Errorf("journal %s: line %d: %v; %s", path, ln.no, err, moveAside)
		}
		ln.typ, ln.id = r.Type, r.ID
		lines = append(lines, ln)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return j, lines, nil
}

// prefixedID returns the ID that follows prefix at the start of text, when
// it is a plain JSON string (no escapes, valid UTF-8, which encoding/json
// would replace) followed by a comma.
func prefixedID(text, prefix []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(text, prefix)
	if !ok {
		return "", false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 || !utf8.Valid(rest[:end]) || end+1 >= len(rest) || rest[end+1] != ',' {
		return "", false
	}
	return string(rest[:end]), true
}

// apply adds one record to the journal being read.
func (j *journal) apply(r record) error {
	switch r.Type {
	case recHeader:
		if r.Version > journalVersion {
			return fmt.Errorf("written by a newer personactl (format version %d; this one reads up to %d); upgrade personactl to use it", r.Version, journalVersion)
		}
	case recOpen:
		if r.ID == "" {
			return errors.New("an entry without an ID")
		}
		if j.byID[r.ID] != nil {
			return fmt.Errorf("entry %s opened twice", r.ID)
		}
		e := &state.JournalEntry{ID: r.ID, Operation: r.Operation, Who: r.Who, Host: r.Host, Started: r.Started, Before: r.Before, Steps: []state.JournalStep{}}
		if r.Plan != "" {
			e.Plan = []byte(r.Plan)
		}
		j.add(e)
	case recSteps:
		e := j.byID[r.ID]
		if e == nil {
			return fmt.Errorf("steps of entry %s, which was never opened", r.ID)
		}
		e.Steps = append(e.Steps, r.Steps...)
	case recClose:
		e := j.byID[r.ID]
		switch {
		case e == nil:
			return fmt.Errorf("close of entry %s, which was never opened", r.ID)
		case r.Closed.IsZero():
			return fmt.Errorf("close of entry %s without the time it was closed", r.ID)
		case r.Outcome != "" && !state.ValidOutcome(r.Outcome):
			return fmt.Errorf("close of entry %s with an unknown outcome %q", r.ID, r.Outcome)
		}
		e.Closed, e.Outcome, e.Plan, e.Before = r.Closed, r.Outcome, nil, nil
	default:
		return fmt.Errorf("unknown record type %q", r.Type)
	}
	return nil
}

// beyond returns the IDs of the closed entries older than the newest keep.
func (j *journal) beyond(keep int) map[string]bool {
	var closed []*state.JournalEntry
	for _, e := range j.entries {
		if !e.Closed.IsZero() {
			closed = append(closed, e)
		}
	}
	if len(closed) <= keep {
		return nil
	}
	sort.SliceStable(closed, func(a, b int) bool { return closed[a].Closed.After(closed[b].Closed) })
	drop := map[string]bool{}
	for _, e := range closed[keep:] {
		drop[e.ID] = true
	}
	return drop
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// journalHasEntry reports whether the journal holds an entry with id, by
// looking for its open record as the encoder writes it.
func (b *Backend) journalHasEntry(id string) (bool, error) {
	data, err := os.ReadFile(b.journalPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read journal %s: %w", b.journalPath(), err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false) // as appendRecords writes it
	if err := enc.Encode(record{Type: recOpen, ID: id}); err != nil {
		return false, err
	}
	prefix := bytes.TrimSuffix(bytes.TrimSpace(want.Bytes()), []byte("}"))
	return bytes.Contains(data, prefix), nil
}

// stderrWarn is where warnings go when Options.Warn is not set.
func stderrWarn(msg string) {
	w := bufio.NewWriter(os.Stderr)
	fmt.Fprintf(w, "Warning: %s\n", msg)
	w.Flush()
}
