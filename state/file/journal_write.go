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
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/state"
)

// Writing the journal: appending records to it under the lock, and closing
// an entry (which rewrites the file with the entry closed and old ones
// trimmed).

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
