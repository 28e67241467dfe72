package manaauthdev

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// The memory store's hand edits and test helpers: what a person (or a test)
// does to the tables outside the admin API, and the counts tests read.

func (m *MemoryStore) AddAction(_ context.Context, a Action) error {
	if err := cmp.Or(checkText(a.ID, a.TickID, a.ToolName), validEnum(a.Result, "ok", "error")); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.personas[a.PersonaID]; !ok {
		return fmt.Errorf("persona_actions_persona_id_fkey: persona %q: %w", a.PersonaID, ErrNoSuchUser)
	}
	if _, ok := m.actions[a.ID]; ok {
		return fmt.Errorf("duplicate key value violates unique constraint persona_actions_pkey: %s", a.ID)
	}
	m.actions[a.ID] = a
	return nil
}

func (m *MemoryStore) AddFeedback(_ context.Context, f Feedback) error {
	if err := checkText(f.ID, f.TickID, f.Module); err != nil {
		return err
	}
	if f.Rating < 1 || f.Rating > 5 {
		return fmt.Errorf("new row for relation persona_feedback violates check constraint: rating %d", f.Rating)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.personas[f.PersonaID]; !ok {
		return fmt.Errorf("persona_feedback_persona_id_fkey: persona %q: %w", f.PersonaID, ErrNoSuchUser)
	}
	if _, ok := m.feedback[f.ID]; ok {
		return fmt.Errorf("duplicate key value violates unique constraint persona_feedback_pkey: %s", f.ID)
	}
	m.feedback[f.ID] = f
	return nil
}

func (m *MemoryStore) SetLastActiveAt(_ context.Context, personaID string, at *time.Time) error {
	return edit(m, m.personas, personaID, func(p *memPersona) { p.lastActiveAt = copyTime(at) })
}

func (m *MemoryStore) EditPersona(_ context.Context, userID string, e PersonaEdit) error {
	var mix []byte
	if e.ModuleMix != nil {
		var err error
		if mix, err = jsonbText(e.ModuleMix); err != nil {
			return err
		}
	}
	for _, s := range []*string{e.Name, e.Archetype, e.SystemPrompt, e.TickCadence} {
		if s != nil {
			if err := checkText(*s); err != nil {
				return err
			}
		}
	}
	return edit(m, m.personas, userID, func(p *memPersona) {
		setIf(&m.users[userID].Name, e.Name)
		setIf(&p.Archetype, e.Archetype)
		setIf(&p.SystemPrompt, e.SystemPrompt)
		setIf(&p.TickCadence, e.TickCadence)
		if mix != nil {
			p.ModuleMix = mix
		}
	})
}

// setIf sets *field to *value unless value is nil.
func setIf(field, value *string) {
	if value != nil {
		*field = *value
	}
}

func (m *MemoryStore) SetUserKind(_ context.Context, userID, kind string) error {
	if err := validEnum(kind, KindHuman, KindPersona, KindSystem); err != nil {
		return err
	}
	return edit(m, m.users, userID, func(u *memUser) { u.Kind = kind })
}

func (m *MemoryStore) DeletePersonaRow(_ context.Context, userID string) error {
	return edit(m, m.personas, userID, func(*memPersona) { m.dropPersonaRow(userID) })
}

// dropPersonaRow deletes the persona row of id and, as the foreign keys
// cascade, its actions and feedback. The caller holds m.mu.
func (m *MemoryStore) dropPersonaRow(id string) {
	delete(m.personas, id)
	for k, a := range m.actions {
		if a.PersonaID == id {
			delete(m.actions, k)
		}
	}
	for k, f := range m.feedback {
		if f.PersonaID == id {
			delete(m.feedback, k)
		}
	}
}

func (m *MemoryStore) MarkVerified(_ context.Context, userID string) error {
	return edit(m, m.users, userID, func(u *memUser) { u.EmailVerified = true })
}

func (m *MemoryStore) RowCounts(_ context.Context, userID string) (RowCounts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var c RowCounts
	if _, ok := m.users[userID]; ok {
		c.Users, c.Accounts = 1, 1
	}
	if _, ok := m.personas[userID]; ok {
		c.Personas = 1
	}
	for _, s := range m.sessions {
		if s.UserID == userID {
			c.Sessions++
		}
	}
	for _, a := range m.actions {
		if a.PersonaID == userID {
			c.Actions++
		}
	}
	for _, f := range m.feedback {
		if f.PersonaID == userID {
			c.Feedback++
		}
	}
	return c, nil
}

// edit changes the row of rows (the store's users or personas) with id
// under the store's lock; a missing row is ErrNotFound.
func edit[T any](m *MemoryStore, rows map[string]*T, id string, change func(*T)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := rows[id]
	if !ok {
		return ErrNotFound
	}
	change(row)
	return nil
}
