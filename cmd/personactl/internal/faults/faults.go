// Package faults breaks personactl on purpose, at a chosen point, to prove
// what a user sees when a bug, a crash or a kill strikes there. Hooks wrap
// the adapters the commands build (the admin API writer, the state backend,
// the live reader); in-process tests set them directly, and a test build of
// personactl (go build -tags crashtest) takes them from its environment with
// FromEnv. The zero Hooks change nothing.
package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// Hooks wrap the adapters of one process; a nil hook leaves its adapter as
// it is.
type Hooks struct {
	Writer  func(apply.Writer) apply.Writer
	Backend func(state.Backend) state.Backend
	Live    func(state.Live) state.Live
	// Now is the admin API client's clock, when a test shares one with
	// mana-auth-dev; nil: time.Now.
	Now func() time.Time
}

// WrapWriter returns w through the Writer hook.
func (h Hooks) WrapWriter(w apply.Writer) apply.Writer {
	if h.Writer == nil {
		return w
	}
	return h.Writer(w)
}

// WrapBackend returns b through the Backend hook.
func (h Hooks) WrapBackend(b state.Backend) state.Backend {
	if h.Backend == nil {
		return b
	}
	return h.Backend(b)
}

// WrapLive returns l through the Live hook.
func (h Hooks) WrapLive(l state.Live) state.Live {
	if h.Live == nil {
		return l
	}
	return h.Live(l)
}

// FromEnv returns the hooks a test build's environment asks for:
//
//	PERSONACTL_CRASHTEST=step
//	    every upsert panics inside apply's worker goroutine, as a bug
//	    there would.
//	PERSONACTL_CRASHTEST_KILL=PHASE:N
//	    the process kills itself with SIGKILL at the Nth event of PHASE,
//	    after printing "crashtest: SIGKILL at PHASE:N (EVENT)" to standard
//	    error. Every call personactl makes to the state backend, its lock,
//	    the live reader and the admin API writer is two events of the phase
//	    it belongs to, its start and its return, so an odd N dies before
//	    a call and an even N just after one returned. The phases:
//	      read      reading the state, the open journals, the live personas
//	                and who holds each address to be created
//	      journal   opening the run's journal entry
//	      write     creates and updates, and the journal steps they append
//	      rollback  every write after a create or update failed (deleting
//	                what was created, restoring before-images), and its
//	                journal steps
//	      delete    deletes of a run that did not fail, and their journal steps
//	      save      writing the new state and closing the journal entry
//
// Without these variables it returns the zero Hooks.
func FromEnv(getenv func(string) string) (Hooks, error) {
	var h Hooks
	if getenv("PERSONACTL_CRASHTEST") == "step" {
		h.Writer = func(w apply.Writer) apply.Writer { return panickingWriter{w} }
	}
	if spec := getenv("PERSONACTL_CRASHTEST_KILL"); spec != "" {
		k, err := parseKill(spec)
		if err != nil {
			return Hooks{}, fmt.Errorf("PERSONACTL_CRASHTEST_KILL=%q: %w", spec, err)
		}
		h.Writer = func(w apply.Writer) apply.Writer { return killWriter{w, k} }
		h.Backend = func(b state.Backend) state.Backend { return killBackend{b, k} }
		h.Live = func(l state.Live) state.Live { return killLive{l, k} }
	}
	return h, nil
}

type panickingWriter struct{ apply.Writer }

func (panickingWriter) Upsert(context.Context, catalog.Persona, string) (string, error) {
	panic("forced by PERSONACTL_CRASHTEST=step")
}

// Phases of PERSONACTL_CRASHTEST_KILL.
var killPhases = []string{"read", "journal", "write", "rollback", "delete", "save"}

// killer counts the events of one phase and kills the process at the Nth.
type killer struct {
	phase  string
	at     int64
	seen   atomic.Int64
	failed atomic.Bool // a create or update failed: what the writer does next is the rollback
}

func parseKill(spec string) (*killer, error) {
	phase, n, ok := strings.Cut(spec, ":")
	at, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || at < 1 {
		return nil, fmt.Errorf("want PHASE:N with N a positive count, e.g. write:3")
	}
	for _, p := range killPhases {
		if p == phase {
			return &killer{phase: phase, at: at}, nil
		}
	}
	return nil, fmt.Errorf("unknown phase %q; the phases are %s", phase, strings.Join(killPhases, ", "))
}

func (k *killer) event(phase, what string) {
	if phase != k.phase || k.seen.Add(1) != k.at {
		return
	}
	fmt.Fprintf(os.Stderr, "crashtest: SIGKILL at %s:%d (%s)\n", phase, k.at, what)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill() // SIGKILL: no deferred function, no signal handler runs
	}
	// The signal is delivered asynchronously; nothing more may happen here.
	for {
		time.Sleep(time.Hour)
	}
}

// call counts fn's start and return as two events of phase.
func (k *killer) call(phase, what string, fn func()) {
	k.event(phase, "before "+what)
	fn()
	k.event(phase, "after "+what)
}

// writePhase is the phase a write belongs to: the rollback once a create
// or update failed, else write (upserts) or delete.
func (k *killer) writePhase(normal string) string {
	if k.failed.Load() {
		return "rollback"
	}
	return normal
}

type killWriter struct {
	apply.Writer
	k *killer
}

func (w killWriter) Upsert(ctx context.Context, p catalog.Persona, password string) (id string, err error) {
	w.k.call(w.k.writePhase("write"), "upsert "+p.Email, func() { id, err = w.Writer.Upsert(ctx, p, password) })
	if err != nil {
		w.k.failed.Store(true)
	}
	return id, err
}

func (w killWriter) Delete(ctx context.Context, userID string) (err error) {
	w.k.call(w.k.writePhase("delete"), "delete "+userID, func() { err = w.Writer.Delete(ctx, userID) })
	return err
}

func (w killWriter) FindPersona(ctx context.Context, email string) (id string, ok bool, err error) {
	w.k.call(w.k.writePhase("write"), "find "+email, func() { id, ok, err = w.Writer.FindPersona(ctx, email) })
	return id, ok, err
}

type killLive struct {
	state.Live
	k *killer
}

func (l killLive) Personas(ctx context.Context) (ps []state.LivePersona, err error) {
	l.k.call("read", "live personas", func() { ps, err = l.Live.Personas(ctx) })
	return ps, err
}

// AddressOwners asks about one address at a time, each question two
// events, so that a kill can fall between the questions of one check.
func (l killLive) AddressOwners(ctx context.Context, emails []string) (map[string]state.Owner, error) {
	out := make(map[string]state.Owner, len(emails))
	for _, email := range emails {
		var one map[string]state.Owner
		var err error
		l.k.call("read", "address owner "+email, func() { one, err = l.Live.AddressOwners(ctx, []string{email}) })
		if err != nil {
			return nil, err
		}
		out[email] = one[email]
	}
	return out, nil
}

type killBackend struct {
	state.Backend
	k *killer
}

func (b killBackend) Read(ctx context.Context) (s *state.State, err error) {
	b.k.call("read", "state read", func() { s, err = b.Backend.Read(ctx) })
	return s, err
}

func (b killBackend) OpenJournals(ctx context.Context) (es []state.JournalEntry, err error) {
	b.k.call("read", "open journals", func() { es, err = b.Backend.OpenJournals(ctx) })
	return es, err
}

func (b killBackend) Lock(ctx context.Context, operation string, timeout time.Duration) (state.Lock, error) {
	l, err := b.Backend.Lock(ctx, operation, timeout)
	if err != nil {
		return nil, err
	}
	return killLock{l, b.k}, nil
}

type killLock struct {
	state.Lock
	k *killer
}

func (l killLock) OpenJournal(ctx context.Context, e state.JournalEntry) (err error) {
	l.k.call("journal", "open journal", func() { err = l.Lock.OpenJournal(ctx, e) })
	return err
}

// stepPhase is the phase journal steps belong to: that of their writes.
func (l killLock) stepPhase(steps []state.JournalStep) string {
	for _, s := range steps {
		if s.Action == plan.Delete.String() && !l.k.failed.Load() {
			return "delete"
		}
	}
	return l.k.writePhase("write")
}

func (l killLock) AppendSteps(ctx context.Context, id string, steps []state.JournalStep) (err error) {
	l.k.call(l.stepPhase(steps), fmt.Sprintf("append %d journal step(s)", len(steps)), func() { err = l.Lock.AppendSteps(ctx, id, steps) })
	return err
}

func (l killLock) Write(ctx context.Context, s *state.State) (err error) {
	l.k.call("save", "state write", func() { err = l.Lock.Write(ctx, s) })
	return err
}

func (l killLock) CloseJournal(ctx context.Context, id string, outcome state.RunOutcome) (err error) {
	l.k.call("save", "close journal", func() { err = l.Lock.CloseJournal(ctx, id, outcome) })
	return err
}
