package file

import (
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

// journalVersion is the version of the journal file's layout.
const journalVersion = 1

// keepClosed is how many closed entries the journal keeps, newest first, for
// someone looking back at the last applies; older ones are pruned.
const keepClosed = 10

// journalFile is the layout of PATH.journal.
type journalFile struct {
	Version int         `json:"version"`
	Entries []diskEntry `json:"entries"`
}

// diskEntry is a state.JournalEntry as the journal file keeps it: the plan as
// text rather than base64, so that a person (or a scan for leaked secrets)
// reads it as it is.
type diskEntry struct {
	ID        string              `json:"id"`
	Operation string              `json:"operation"`
	Started   time.Time           `json:"started"`
	Plan      string              `json:"plan,omitempty"`
	Before    []state.LivePersona `json:"before"`
	Steps     []state.JournalStep `json:"steps"`
	Closed    time.Time           `json:"closed,omitzero"`
}

func toDisk(e state.JournalEntry) diskEntry {
	before := e.Before
	if before == nil {
		before = []state.LivePersona{}
	}
	return diskEntry{ID: e.ID, Operation: e.Operation, Started: e.Started, Plan: string(e.Plan), Before: before, Steps: e.Steps, Closed: e.Closed}
}

func (d diskEntry) entry() state.JournalEntry {
	e := state.JournalEntry{ID: d.ID, Operation: d.Operation, Started: d.Started, Before: d.Before, Steps: d.Steps, Closed: d.Closed}
	if d.Plan != "" {
		e.Plan = []byte(d.Plan)
	}
	return e
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
	for _, e := range j.Entries {
		if e.Closed.IsZero() {
			open = append(open, e.entry())
		}
	}
	return open, nil
}

// readJournal reads PATH.journal; a missing file is an empty journal.
func (b *Backend) readJournal() (*journalFile, error) {
	path := b.journalPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &journalFile{Version: journalVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w; check the file's owner and mode", err)
	}
	var j journalFile
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("journal %s is not valid JSON (%s); it only records interrupted applies: move it aside and run `personactl plan` to compare the state with what is live", path, describeJSONError(data, err))
	}
	if j.Version > journalVersion {
		return nil, fmt.Errorf("journal %s was written by a newer personactl (format version %d; this one reads up to %d); upgrade personactl to use it", path, j.Version, journalVersion)
	}
	return &j, nil
}

// updateJournal applies change to the journal and writes it back atomically.
// The caller holds the lock, so nobody else changes the file in between.
func (b *Backend) updateJournal(change func(j *journalFile) error) error {
	j, err := b.readJournal()
	if err != nil {
		return err
	}
	if err := change(j); err != nil {
		return err
	}
	j.Version = journalVersion
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode journal %s: %w", b.journalPath(), err)
	}
	if err := writeAtomic(b.journalPath(), append(data, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// find returns the index of entry id, or -1.
func (j *journalFile) find(id string) int {
	for i := range j.Entries {
		if j.Entries[i].ID == id {
			return i
		}
	}
	return -1
}

// prune drops all but the keepClosed most recently closed entries; open
// entries always stay.
func (j *journalFile) prune() {
	var closed []time.Time
	for _, e := range j.Entries {
		if !e.Closed.IsZero() {
			closed = append(closed, e.Closed)
		}
	}
	if len(closed) <= keepClosed {
		return
	}
	sort.Slice(closed, func(a, b int) bool { return closed[a].After(closed[b]) })
	cutoff := closed[keepClosed-1]
	kept := j.Entries[:0]
	for _, e := range j.Entries {
		if e.Closed.IsZero() || !e.Closed.Before(cutoff) {
			kept = append(kept, e)
		}
	}
	j.Entries = kept
}

// OpenJournal stores e as an open entry.
func (l *lock) OpenJournal(ctx context.Context, e state.JournalEntry) error {
	return l.held(ctx, "open journal entry in", func() error {
		if e.ID == "" {
			return fmt.Errorf("open journal entry in %s: the entry has no ID", l.b.journalPath())
		}
		if !utf8.Valid(e.Plan) {
			return fmt.Errorf("open journal entry %s in %s: the plan is not UTF-8 text; store its JSON rendering", e.ID, l.b.journalPath())
		}
		return l.b.updateJournal(func(j *journalFile) error {
			if j.find(e.ID) >= 0 {
				return fmt.Errorf("open journal entry %s in %s: an entry with this ID exists already; give each apply a new ID", e.ID, l.b.journalPath())
			}
			e.Closed = time.Time{}
			if e.Steps == nil {
				e.Steps = []state.JournalStep{}
			}
			j.Entries = append(j.Entries, toDisk(e))
			return nil
		})
	})
}

// RecordStep appends step to the open entry id.
func (l *lock) RecordStep(ctx context.Context, id string, step state.JournalStep) error {
	return l.held(ctx, "record journal step in", func() error {
		return l.b.updateJournal(func(j *journalFile) error {
			i := j.find(id)
			if i < 0 || !j.Entries[i].Closed.IsZero() {
				return fmt.Errorf("record step for %s in journal %s: no open entry %s; open it with OpenJournal first", step.Email, l.b.journalPath(), id)
			}
			j.Entries[i].Steps = append(j.Entries[i].Steps, step)
			return nil
		})
	})
}

// CloseJournal marks entry id finished and prunes old closed entries.
func (l *lock) CloseJournal(ctx context.Context, id string) error {
	return l.held(ctx, "close journal entry in", func() error {
		return l.b.updateJournal(func(j *journalFile) error {
			i := j.find(id)
			if i < 0 || !j.Entries[i].Closed.IsZero() {
				return fmt.Errorf("close journal entry in %s: no open entry %s", l.b.journalPath(), id)
			}
			j.Entries[i].Closed = time.Now().UTC().Truncate(time.Microsecond)
			j.prune()
			return nil
		})
	})
}
