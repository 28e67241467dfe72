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

// appendRecords appends recs to the journal file and flushes them to disk:
// one write and one fsync.
func (l *lock) appendRecords(recs []record) error {
	return l.appendWith(func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("encode a journal record: %w", err)
			}
		}
		return nil
	})
}

// appendWith appends what write writes to the journal file, through a
// buffer, and flushes it to disk. The file stays open for the next append
// while the lock is held; it is opened again when it was replaced or
// removed. On opening, a line that an interrupted write left without its
// newline is cut off, so that the new records start on a line of their
// own; a write that fails here closes the file, so that its torn line is
// cut the same way.
func (l *lock) appendWith(write func(io.Writer) error) error {
	path := l.b.journalPath()
	if l.jf != nil && !l.journalUnchanged(path) {
		l.closeJournalFile()
	}
	created := false
	if l.jf == nil {
		f, size, fresh, err := openForAppend(path)
		if err != nil {
			return err
		}
		if size == 0 {
			head, _ := json.Marshal(record{Type: recHeader, Version: journalVersion})
			if _, err := f.Write(append(head, '\n')); err != nil {
				f.Close()
				return fmt.Errorf("append to journal %s: %w; check free disk space", path, err)
			}
			size = int64(len(head) + 1)
		}
		l.jf, l.jsize, created = f, size, fresh
	}
	cw := &countingWriter{w: l.jf}
	if l.jbuf == nil {
		l.jbuf = bufio.NewWriterSize(cw, 256<<10)
	}
	l.jbuf.Reset(cw)
	err := write(l.jbuf)
	if err == nil {
		err = l.jbuf.Flush()
	}
	l.jsize += cw.n
	if err != nil {
		l.closeJournalFile()
		if cw.err != nil {
			return fmt.Errorf("append to journal %s: %w; check free disk space", path, cw.err)
		}
		return fmt.Errorf("append to journal %s: %w", path, err)
	}
	if err := l.jf.Sync(); err != nil {
		l.closeJournalFile()
		return fmt.Errorf("append to journal %s: flush to disk: %w", path, err)
	}
	if created {
		if err := syncDir(l.b.dir()); err != nil {
			return fmt.Errorf("append to journal %s: %w", path, err)
		}
	}
	return nil
}

// countingWriter counts what reaches w and keeps its first error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// writeOpen writes e's open record, and its steps record when it has
// steps, as appendRecords would encode them, but a piece at a time: the
// plan and 10,000 before-images are never held encoded whole.
func writeOpen(w io.Writer, e state.JournalEntry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	piece := func(v any) ([]byte, error) {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("encode a journal record: %w", err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	head, err := piece(record{Type: recOpen, ID: e.ID, Operation: e.Operation, Who: e.Who, Host: e.Host, Started: e.Started})
	if err != nil {
		return err
	}
	if _, err := w.Write(head[:len(head)-1]); err != nil { // without its closing brace
		return err
	}
	if len(e.Plan) > 0 {
		io.WriteString(w, `,"plan":`)
		writeJSONString(w, e.Plan)
	}
	if len(e.Before) > 0 {
		io.WriteString(w, `,"before":[`)
		for i, b := range e.Before {
			if i > 0 {
				io.WriteString(w, ",")
			}
			img, err := piece(b)
			if err != nil {
				return err
			}
			w.Write(img)
		}
		io.WriteString(w, "]")
	}
	if _, err := io.WriteString(w, "}\n"); err != nil {
		return err
	}
	if len(e.Steps) > 0 {
		steps, err := piece(record{Type: recSteps, ID: e.ID, Steps: e.Steps})
		if err != nil {
			return err
		}
		w.Write(append(steps, '\n'))
	}
	return nil
}

// writeJSONString writes s, valid UTF-8, as a JSON string: quotes,
// backslashes and control characters escaped, the rest as it is.
func writeJSONString(w io.Writer, s []byte) {
	const hex = "0123456789abcdef"
	io.WriteString(w, `"`)
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.Write(s[start:i])
		switch c {
		case '"', '\\':
			w.Write([]byte{'\\', c})
		case '\n':
			io.WriteString(w, `\n`)
		case '\r':
			io.WriteString(w, `\r`)
		case '\t':
			io.WriteString(w, `\t`)
		default:
			w.Write([]byte{'\\', 'u', '0', '0', hex[c>>4], hex[c&0xf]})
		}
		start = i + 1
	}
	w.Write(s[start:])
	io.WriteString(w, `"`)
}

// journalUnchanged reports whether the journal file held open is still the
// one at path and has the size this lock left it at: anything else (a file
// replaced, removed, or written by someone else) opens it again.
func (l *lock) journalUnchanged(path string) bool {
	fi, err := l.jf.Stat()
	if err != nil || fi.Size() != l.jsize {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}

// closeJournalFile closes the journal file held open for appends.
func (l *lock) closeJournalFile() {
	if l.jf != nil {
		l.jf.Close()
		l.jf = nil
	}
}

// openForAppend opens the journal file for appending, creating it if
// needed, cuts a torn last line, and returns its size and whether it was
// created.
func openForAppend(path string) (f *os.File, size int64, created bool, err error) {
	_, statErr := os.Stat(path)
	created = errors.Is(statErr, fs.ErrNotExist)
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, false, fmt.Errorf("open journal: %w; check the directory's owner and mode", err)
	}
	if size, err = cutTornLine(f); err != nil {
		f.Close()
		return nil, 0, false, fmt.Errorf("journal %s: %w", path, err)
	}
	return f, size, created, nil
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

// OpenJournal stores e as an open entry: one record with its plan and
// before-images, and one with its steps if it has any.
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
		if err := l.appendWith(func(w io.Writer) error { return writeOpen(w, e) }); err != nil {
			return err
		}
		// What the entry's open record becomes once it is closed.
		l.open[e.ID] = &record{Type: recOpen, ID: e.ID, Operation: e.Operation, Who: e.Who, Host: e.Host, Started: e.Started}
		l.b.log.Info("journal opened", "entry", e.ID, "operation", e.Operation)
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
		if _, ok := l.open[id]; !ok {
			// An entry this lock did not open: read the journal once to
			// check that it is open; it stays so while the lock is held.
			j, err := l.b.readOpenEntries()
			if err != nil {
				return err
			}
			if e := j.byID[id]; e == nil || !e.Closed.IsZero() {
				return fmt.Errorf("record step for %s in journal %s: no open entry %s; open it with OpenJournal first", steps[0].Email, l.b.journalPath(), id)
			}
			l.open[id] = nil
		}
		if err := l.appendRecords([]record{{Type: recSteps, ID: id, Steps: steps}}); err != nil {
			return err
		}
		l.b.log.Debug("journal steps written", "entry", id, "steps", len(steps))
		return nil
	})
}

// CloseJournal marks entry id closed with its outcome and rewrites the
// journal once: without the entry's plan and before-images, and without the
// oldest closed runs beyond retention. The other records are copied as
// they are, without decoding them.
func (l *lock) CloseJournal(ctx context.Context, id string, o string) error {
	if err := state.CheckOutcome(o); err != nil {
		return fmt.Errorf("close journal entry %s in %s: %w", id, l.b.journalPath(), err)
	}
	return l.held(ctx, "close journal entry in", func() error {
		path := l.b.journalPath()
		data, err := l.b.journalBytes()
		if err != nil {
			return err
		}
		closed := time.Now().UTC().Truncate(time.Microsecond)
		out, err := closeEntry(path, data, l.b.warn, id, l.open[id], closed, o, l.b.retain)
		if err != nil {
			return err
		}
		l.closeJournalFile()
		if err := WriteAtomic(path, out, 0o600); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		delete(l.open, id)
		l.b.log.Info("journal closed", "entry", id, "outcome", o)
		return nil
	})
}

// closeEntry returns the journal data with entry id closed: its open
// record replaced by head (or, when nil, by the record read from data
// without its plan and before-images), a close record appended, and the
// runs beyond retention dropped.
func closeEntry(path string, data []byte, warn func(string), id string, head *record, closed time.Time, outcome string, retain int) ([]byte, error) {
	j, lines, err := scanJournal(path, data, warn)
	if err != nil {
		return nil, err
	}
	e := j.byID[id]
	if e == nil || !e.Closed.IsZero() {
		return nil, fmt.Errorf("close journal entry in %s: no open entry %s", path, id)
	}
	e.Closed, e.Outcome = closed, outcome
	drop := j.beyond(retain)
	var buf bytes.Buffer
	buf.Grow(len(data))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record{Type: recHeader, Version: journalVersion}); err != nil {
		return nil, err
	}
	for _, ln := range lines {
		switch {
		case ln.typ == recHeader || drop[ln.id]:
		case ln.typ == recOpen && ln.id == id:
			if head == nil {
				var r record
				if err := json.Unmarshal(ln.text, &r); err != nil {
					return nil, fmt.Errorf("journal %s: line %d is not a journal record (%v); %s", path, ln.no, err, moveAside)
				}
				r.Plan, r.Before = "", nil
				head = &r
			}
			if err := enc.Encode(head); err != nil {
				return nil, fmt.Errorf("entry %s: %w", id, err)
			}
		default:
			buf.Write(ln.text)
			buf.WriteByte('\n')
		}
	}
	if err := enc.Encode(record{Type: recClose, ID: id, Closed: closed, Outcome: outcome}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stderrWarn is where warnings go when Options.Warn is not set.
func stderrWarn(msg string) {
	w := bufio.NewWriter(os.Stderr)
	fmt.Fprintf(w, "Warning: %s\n", msg)
	w.Flush()
}
