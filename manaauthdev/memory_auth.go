package manaauthdev

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The MemoryStore's sessions, roles and failed logins: what a sign-in, a
// login, a refresh and a sign-out read and write.

func (m *MemoryStore) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[s.UserID]; !ok {
		return fmt.Errorf("sessions_user_id_fkey: user %q: %w", s.UserID, ErrNoSuchUser)
	}
	m.sessions[s.ID] = s
	return nil
}

func (m *MemoryStore) SessionByToken(_ context.Context, token string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.Token == token {
			return s, nil
		}
	}
	return Session{}, ErrNotFound
}

func (m *MemoryStore) DeleteSession(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.sessions {
		if s.Token == token {
			delete(m.sessions, id)
		}
	}
	return nil
}

func (m *MemoryStore) SetUserRole(_ context.Context, userID, role string) error {
	if err := validEnum(role, RoleUser, RoleAdmin, RoleService); err != nil {
		return err
	}
	return edit(m, m.users, userID, func(u *memUser) { u.Role = role })
}

func (m *MemoryStore) RecordLoginFailure(_ context.Context, email string, at time.Time) error {
	if err := checkText(email); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// timestamptz keeps microseconds.
	m.attempts = append(m.attempts, LoginAttempt{Email: email, AttemptedAt: at.Truncate(time.Microsecond)})
	return nil
}

func (m *MemoryStore) LoginFailures(_ context.Context, email string) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Time
	for _, a := range m.attempts {
		if a.Email == email {
			out = append(out, a.AttemptedAt)
		}
	}
	slices.SortStableFunc(out, time.Time.Compare)
	return out, nil
}

func (m *MemoryStore) ClearLoginFailures(_ context.Context, email string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts = slices.DeleteFunc(m.attempts, func(a LoginAttempt) bool { return a.Email == email })
	return nil
}

func (m *MemoryStore) LoginAttempts(_ context.Context) ([]LoginAttempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.attempts)
	slices.SortStableFunc(out, func(a, b LoginAttempt) int { return a.AttemptedAt.Compare(b.AttemptedAt) })
	return out, nil
}
