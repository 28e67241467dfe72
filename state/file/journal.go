package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// journalVersion is the version of the journal file's layout; version 1 was
// one JSON document, rewritten whole on every step, and is still read.
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

// OpenJournals returns the entries that interrupted runs left open, oldest first.
func (b *Backend) OpenJournals(ctx context.Context) ([]state.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read journal %s: %w", b.journalPath(), err)
	}
	j, err := b.readJournal()
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
	path := b.journalPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &journal{byID: map[string]*state.JournalEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w; check the file's owner and mode", err)
	}
	return parseJournal(path, data, b.warn)
}

// parseJournal parses the journal file's bytes; warn hears of a torn last line.
func parseJournal(path string, data []byte, warn func(string)) (*journal, error) {
	j := &journal{byID: map[string]*state.JournalEntry{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return j, nil
	}
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{\n")) {
		return parseJournalV1(path, data)
	}
	const moveAside = "it only records runs: move it aside and run `personactl plan` to compare the state with what is live"
	line := 0
	for len(data) > 0 {
		line++
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			// A crash cut the last write short: that batch was never
			// reported durable, so it is dropped.
			warn(fmt.Sprintf("journal %s: line %d was cut short by an interrupted write and is ignored (%d bytes)", path, line, len(data)))
			break
		}
		text := data[:nl]
		data = data[nl+1:]
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(text, &r); err != nil {
			return nil, fmt.Errorf("journal %s: line %d is not a journal record (%v); %s", path, line, err, moveAside)
		}
		if err := j.apply(r); err != nil {
			return nil, fmt.Errorf("journal %s: line %d: %v; %s", path, line, err, moveAside)
		}
	}
	return j, nil
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

// parseJournalV1 reads the layout before JSON Lines: one document whose
// before-images have no JSON tags.
func parseJournalV1(path string, data []byte) (*journal, error) {
	var v1 struct {
		Version int `json:"version"`
		Entries []struct {
			ID        string              `json:"id"`
			Operation string              `json:"operation"`
			Started   time.Time           `json:"started"`
			Plan      string              `json:"plan"`
			Before    []state.LivePersona `json:"before"`
			Steps     []state.JournalStep `json:"steps"`
			Closed    time.Time           `json:"closed"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, fmt.Errorf("journal %s is not valid JSON (%s); it only records runs: move it aside and run `personactl plan` to compare the state with what is live", path, describeJSONError(data, err))
	}
	if v1.Version != 1 {
		return nil, fmt.Errorf("journal %s has format version %d, which this personactl cannot read; upgrade personactl, or move it aside", path, v1.Version)
	}
	j := &journal{byID: map[string]*state.JournalEntry{}}
	for _, d := range v1.Entries {
		e := &state.JournalEntry{ID: d.ID, Operation: d.Operation, Started: d.Started, Steps: d.Steps, Closed: d.Closed}
		if e.Steps == nil {
			e.Steps = []state.JournalStep{}
		}
		if e.Closed.IsZero() {
			if d.Plan != "" {
				e.Plan = []byte(d.Plan)
			}
			for _, l := range d.Before {
				e.Before = append(e.Before, state.BeforeImageOf(l))
			}
		}
		j.add(e)
	}
	return j, nil
}

// encode renders the whole journal as JSON Lines: a header, then per entry
// its open record, its steps in one record, and its close record.
func (j *journal) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record{Type: recHeader, Version: journalVersion}); err != nil {
		return nil, err
	}
	for _, e := range j.entries {
		for _, r := range entryRecords(*e) {
			if err := enc.Encode(r); err != nil {
				return nil, fmt.Errorf("entry %s: %w", e.ID, err)
			}
		}
	}
	return buf.Bytes(), nil
}

// entryRecords are the records that store e.
func entryRecords(e state.JournalEntry) []record {
	out := []record{{Type: recOpen, ID: e.ID, Operation: e.Operation, Who: e.Who, Host: e.Host, Started: e.Started, Plan: string(e.Plan), Before: e.Before}}
	if len(e.Steps) > 0 {
		out = append(out, record{Type: recSteps, ID: e.ID, Steps: e.Steps})
	}
	if !e.Closed.IsZero() {
		out = append(out, record{Type: recClose, ID: e.ID, Closed: e.Closed, Outcome: e.Outcome})
	}
	return out
}

// prune drops the oldest closed entries beyond keep; open entries stay.
func (j *journal) prune(keep int) {
	var closed []*state.JournalEntry
	for _, e := range j.entries {
		if !e.Closed.IsZero() {
			closed = append(closed, e)
		}
	}
	if len(closed) <= keep {
		return
	}
	sort.SliceStable(closed, func(a, b int) bool { return closed[a].Closed.After(closed[b].Closed) })
	drop := map[*state.JournalEntry]bool{}
	for _, e := range closed[keep:] {
		drop[e] = true
		delete(j.byID, e.ID)
	}
	kept := j.entries[:0]
	for _, e := range j.entries {
		if !drop[e] {
			kept = append(kept, e)
		}
	}
	j.entries = kept
}

// appendRecords appends recs to the journal file and flushes them to disk.
// A line that an interrupted write left without its newline is cut off
// first, so that the new records start on a line of their own.
func (b *Backend) appendRecords(recs []record) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("encode a journal record: %w", err)
		}
	}
	path := b.journalPath()
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open journal: %w; check the directory's owner and mode", err)
	}
	defer f.Close()
	size, err := cutTornLine(f)
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	if size == 0 {
		head, _ := json.Marshal(record{Type: recHeader, Version: journalVersion})
		buf = *bytes.NewBuffer(append(append(head, '\n'), buf.Bytes()...))
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("append to journal %s: %w; check free disk space", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("append to journal %s: flush to disk: %w", path, err)
	}
	if created {
		if err := syncDir(b.dir()); err != nil {
			return fmt.Errorf("append to journal %s: %w", path, err)
		}
	}
	return nil
}

// cutTornLine truncates f after its last newline when it does not end with
// one, and returns its size.
func cutTornLine(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		return size, nil
	}
	// Look back for the last complete line.
	const chunk = 64 << 10
	end := size
	for end > 0 {
		start := max(0, end-chunk)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if err := f.Truncate(end); err != nil {
		return 0, fmt.Errorf("cut off a line an interrupted write left incomplete: %w", err)
	}
	return end, nil
}

// rewriteJournal replaces the journal file with j, atomically.
func (b *Backend) rewriteJournal(j *journal) error {
	data, err := j.encode()
	if err != nil {
		return fmt.Errorf("encode journal %s: %w", b.journalPath(), err)
	}
	if err := WriteAtomic(b.journalPath(), data, 0o600); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// OpenJournal stores e as an open entry: one record with its plan and
// before-images, and one with its steps if it has any.
// journalHasEntry reports whether the journal holds an entry with id, by
// looking for its open record as the encoder writes it (and, for a journal
// of the old one-document layout, by reading it).
func (b *Backend) journalHasEntry(id string) (bool, error) {
	data, err := os.ReadFile(b.journalPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read journal %s: %w", b.journalPath(), err)
	}
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{\n")) {
		j, err := b.readJournal()
		if err != nil {
			return false, err
		}
		return j.byID[id] != nil, nil
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

func (l *lock) OpenJournal(ctx context.Context, e state.JournalEntry) error {
	return l.held(ctx, "open journal entry in", func() error {
		path := l.b.journalPath()
		if e.ID == "" {
			return fmt.Errorf("open journal entry in %s: the entry has no ID", path)
		}
		if !utf8.Valid(e.Plan) {
			return fmt.Errorf("open journal entry %s in %s: the plan is not UTF-8 text; store its JSON rendering", e.ID, path)
		}
		// IDs are random; a byte search for the open record is enough to
		// refuse a reused one, without decoding every run the journal keeps.
		taken, err := l.b.journalHasEntry(e.ID)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("open journal entry %s in %s: an entry with this ID exists already; give each run a new ID", e.ID, path)
		}
		e.Closed, e.Outcome = time.Time{}, ""
		if err := l.b.appendRecords(entryRecords(e)); err != nil {
			return err
		}
		l.open[e.ID] = true
		return nil
	})
}

// AppendSteps appends one record holding steps to the open entry id: one
// write and one fsync, whatever the number of steps.
func (l *lock) AppendSteps(ctx context.Context, id string, steps []state.JournalStep) error {
	if len(steps) == 0 {
		return nil
	}
	return l.held(ctx, "record journal steps in", func() error {
		if !l.open[id] {
			// An entry this lock did not open: read the journal once to
			// check that it is open; it stays so while the lock is held.
			j, err := l.b.readJournal()
			if err != nil {
				return err
			}
			if e := j.byID[id]; e == nil || !e.Closed.IsZero() {
				return fmt.Errorf("record step for %s in journal %s: no open entry %s; open it with OpenJournal first", steps[0].Email, l.b.journalPath(), id)
			}
			l.open[id] = true
		}
		return l.b.appendRecords([]record{{Type: recSteps, ID: id, Steps: steps}})
	})
}

// CloseJournal marks entry id closed with its outcome and rewrites the
// journal once: without the entry's plan and before-images, and without the
// oldest closed runs beyond retention.
func (l *lock) CloseJournal(ctx context.Context, id string, o string) error {
	if err := state.CheckOutcome(o); err != nil {
		return fmt.Errorf("close journal entry %s in %s: %w", id, l.b.journalPath(), err)
	}
	return l.held(ctx, "close journal entry in", func() error {
		j, err := l.b.readJournal()
		if err != nil {
			return err
		}
		e := j.byID[id]
		if e == nil || !e.Closed.IsZero() {
			return fmt.Errorf("close journal entry in %s: no open entry %s", l.b.journalPath(), id)
		}
		e.Closed, e.Outcome, e.Plan, e.Before = time.Now().UTC().Truncate(time.Microsecond), o, nil, nil
		j.prune(l.b.retain)
		if err := l.b.rewriteJournal(j); err != nil {
			return err
		}
		delete(l.open, id)
		return nil
	})
}

// stderrWarn is where warnings go when Options.Warn is not set.
func stderrWarn(msg string) {
	w := bufio.NewWriter(os.Stderr)
	fmt.Fprintf(w, "Warning: %s\n", msg)
	w.Flush()
}
