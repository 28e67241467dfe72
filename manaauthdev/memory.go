package manaauthdev

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MemoryStore is a Store in memory, safe for concurrent use. It keeps the
// constraints of the real tables (unique email, foreign keys with their
// cascades, enums, no NUL in text, jsonb key order) so that it fails where
// PostgreSQL would.
type MemoryStore struct {
	mu       sync.Mutex
	seq      int64 // insertion order, to break created_at ties
	users    map[string]*memUser
	byEmail  map[string]string // email → user id
	personas map[string]*memPersona
	actions  map[string]Action
	feedback map[string]Feedback
	sessions map[string]Session
	attempts []LoginAttempt // auth.login_attempts, oldest first
}

type memUser struct {
	User
	passwordHash string // of the credential account, which CreateUser makes with the user
}

type memPersona struct {
	PersonaRow
	lastActiveAt *time.Time
	seq          int64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		users:    map[string]*memUser{},
		byEmail:  map[string]string{},
		personas: map[string]*memPersona{},
		actions:  map[string]Action{},
		feedback: map[string]Feedback{},
		sessions: map[string]Session{},
	}
}

var _ Store = (*MemoryStore)(nil)

// checkText refuses what a PostgreSQL text column refuses.
func checkText(values ...string) error {
	for _, v := range values {
		if strings.ContainsRune(v, 0) {
			return errors.New(`invalid byte sequence for encoding "UTF8": 0x00`)
		}
		if !utf8.ValidString(v) {
			return errors.New(`invalid byte sequence for encoding "UTF8"`)
		}
	}
	return nil
}

func validEnum(value string, allowed ...string) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	return fmt.Errorf("invalid input value for enum: %q", value)
}

func (m *MemoryStore) UserByEmail(_ context.Context, email string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byEmail[email]
	if !ok {
		return User{}, ErrNotFound
	}
	return m.users[id].User, nil
}

func (m *MemoryStore) UserByID(_ context.Context, id string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u.User, nil
}

func (m *MemoryStore) CreateUser(_ context.Context, u User, passwordHash string) error {
	err := cmp.Or(checkText(u.ID, u.Name, u.Email), validEnum(u.Role, RoleUser, RoleAdmin, RoleService),
		validEnum(u.AccessTier, TierGuest, TierPublic, TierBeta, TierAlpha, TierFounder), validEnum(u.Kind, KindHuman, KindPersona, KindSystem))
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return fmt.Errorf("duplicate key value violates unique constraint users_pkey: %s", u.ID)
	}
	if _, ok := m.byEmail[u.Email]; ok {
		return ErrEmailTaken
	}
	m.users[u.ID] = &memUser{User: u, passwordHash: passwordHash}
	m.byEmail[u.Email] = u.ID
	return nil
}

func (m *MemoryStore) PasswordHash(_ context.Context, userID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[userID]
	if !ok {
		return "", ErrNotFound
	}
	return u.passwordHash, nil
}

func (m *MemoryStore) StampPersona(_ context.Context, userID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.users[userID]; ok {
		u.Kind = KindPersona
		u.AccessTier = TierFounder
		u.EmailVerified = true
		u.UpdatedAt = at
	}
	return nil
}

func (m *MemoryStore) UpsertPersona(_ context.Context, p PersonaRow) error {
	if err := checkText(p.Archetype, p.SystemPrompt, p.TickCadence); err != nil {
		return err
	}
	mix, err := jsonbText(p.ModuleMix)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[p.UserID]; !ok {
		return fmt.Errorf("personas_user_id_fkey: user %q: %w", p.UserID, ErrNoSuchUser)
	}
	if old, ok := m.personas[p.UserID]; ok {
		old.Archetype = p.Archetype
		old.SystemPrompt = p.SystemPrompt
		old.ModuleMix = mix
		old.TickCadence = p.TickCadence
		return nil
	}
	m.seq++
	p.ModuleMix = mix
	m.personas[p.UserID] = &memPersona{PersonaRow: p, seq: m.seq}
	return nil
}

// newestFirst orders personas by created_at descending; the insertion
// order breaks ties so that the order is stable.
func newestFirst(a, b *memPersona) int {
	return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.seq, a.seq))
}

func (m *MemoryStore) ListPersonas(_ context.Context, actionsSince time.Time) ([]PersonaListing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]PersonaListing, 0, len(m.personas))
	for _, p := range slices.SortedFunc(maps.Values(m.personas), newestFirst) {
		u := m.users[p.UserID]
		n := 0
		for _, a := range m.actions {
			if a.PersonaID == p.UserID && a.CreatedAt.After(actionsSince) {
				n++
			}
		}
		out = append(out, PersonaListing{
			UserID: p.UserID, Email: u.Email, Name: u.Name, Archetype: p.Archetype,
			TickCadence: p.TickCadence, LastActiveAt: copyTime(p.lastActiveAt),
			CreatedAt: p.CreatedAt, Actions7d: n,
		})
	}
	return out, nil
}

func (m *MemoryStore) Persona(_ context.Context, userID string) (Persona, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.personas[userID]
	if !ok {
		return Persona{}, ErrNotFound
	}
	u := m.users[userID]
	return Persona{
		UserID: p.UserID, Email: u.Email, Name: u.Name, Archetype: p.Archetype,
		SystemPrompt: p.SystemPrompt, ModuleMix: slices.Clone(p.ModuleMix),
		TickCadence: p.TickCadence, LastActiveAt: copyTime(p.lastActiveAt), CreatedAt: p.CreatedAt,
	}, nil
}

func (m *MemoryStore) RecentActions(_ context.Context, personaID string, limit int) ([]Action, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Action
	for _, a := range m.actions {
		if a.PersonaID == personaID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b Action) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *MemoryStore) FeedbackCounts(_ context.Context, personaID string) ([]ModuleCount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := map[string]int{}
	for _, f := range m.feedback {
		if f.PersonaID == personaID {
			counts[f.Module]++
		}
	}
	out := make([]ModuleCount, 0, len(counts))
	for _, mod := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, ModuleCount{Module: mod, Count: counts[mod]})
	}
	return out, nil
}

func (m *MemoryStore) DeleteUser(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return ErrNotFound
	}
	delete(m.byEmail, u.Email)
	delete(m.users, id)
	m.dropPersonaRow(id)
	for k, s := range m.sessions {
		if s.UserID == id {
			delete(m.sessions, k)
		}
	}
	return nil
}

// lastSession is the latest session activity of a user; callers hold m.mu.
func (m *MemoryStore) lastSession(userID string) *time.Time {
	var last *time.Time
	for _, s := range m.sessions {
		if s.UserID == userID && (last == nil || s.CreatedAt.After(*last)) {
			t := s.CreatedAt
			last = &t
		}
	}
	return last
}

func (m *MemoryStore) SearchUsers(_ context.Context, q UserQuery) ([]UserListing, int, error) {
	pattern, err := likePattern("%" + q.Search + "%")
	if err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var match []*memUser
	for _, u := range m.users {
		if pattern.MatchString(u.Email) || pattern.MatchString(u.Name) {
			match = append(match, u)
		}
	}
	slices.SortFunc(match, func(a, b *memUser) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	total := len(match)
	lo := min(max(q.Offset, 0), total)
	hi := total
	if q.Limit >= 0 {
		hi = min(lo+q.Limit, total)
	}
	out := make([]UserListing, 0, hi-lo)
	for _, u := range match[lo:hi] {
		out = append(out, UserListing{
			ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, AccessTier: u.AccessTier,
			CreatedAt: u.CreatedAt, LastActiveAt: m.lastSession(u.ID),
		})
	}
	return out, total, nil
}

func (m *MemoryStore) UsersByTier(_ context.Context, tier string) ([]UserListing, error) {
	if err := validEnum(tier, TierGuest, TierPublic, TierBeta, TierAlpha, TierFounder); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var match []*memUser
	for _, u := range m.users {
		if u.AccessTier == tier {
			match = append(match, u)
		}
	}
	// No ORDER BY in the real query: PostgreSQL returns rows in the order
	// they were last written, which is what updated_at gives here.
	slices.SortFunc(match, func(a, b *memUser) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), strings.Compare(a.ID, b.ID))
	})
	out := make([]UserListing, 0, len(match))
	for _, u := range match {
		out = append(out, UserListing{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, AccessTier: u.AccessTier, CreatedAt: u.CreatedAt})
	}
	return out, nil
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// likePattern compiles an SQL ILIKE pattern, with PostgreSQL's default
// escape character (the backslash), into a regular expression.
func likePattern(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	for rs := []rune(pattern); len(rs) > 0; rs = rs[1:] {
		switch rs[0] {
		case '\\':
			if len(rs) == 1 {
				return nil, errors.New("LIKE pattern must not end with escape character")
			}
			rs = rs[1:]
			b.WriteString(regexp.QuoteMeta(string(rs[0])))
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(rs[0])))
		}
	}
	return regexp.Compile("(?is)^" + b.String() + "$")
}
