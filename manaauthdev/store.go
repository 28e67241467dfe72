package manaauthdev

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors a Store returns; the server maps them to the service's answers.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrEmailTaken: the unique constraint on auth.users.email refused an insert.
	ErrEmailTaken = errors.New("duplicate key value violates unique constraint users_email_unique")
	// ErrNoSuchUser: a foreign key to auth.users (or auth.personas) refused an insert.
	ErrNoSuchUser = errors.New("insert or update violates foreign key constraint")
)

// Values of the enums of the auth schema.
const (
	KindHuman   = "human"
	KindPersona = "persona"
	KindSystem  = "system"

	RoleUser    = "user"
	RoleAdmin   = "admin"
	RoleService = "service"

	TierGuest   = "guest"
	TierPublic  = "public"
	TierBeta    = "beta"
	TierAlpha   = "alpha"
	TierFounder = "founder"
)

// User is a row of auth.users, limited to the columns the stand-in serves.
type User struct {
	ID            string
	Name          string
	Email         string
	EmailVerified bool
	Role          string // RoleUser, RoleAdmin or RoleService
	AccessTier    string // TierGuest … TierFounder
	Kind          string // KindHuman, KindPersona or KindSystem
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PersonaRow is what the upsert writes into auth.personas. CreatedAt is used
// only when the row is inserted.
type PersonaRow struct {
	UserID       string
	Archetype    string
	SystemPrompt string
	ModuleMix    json.RawMessage // any JSON value; stored as jsonb
	TickCadence  string
	CreatedAt    time.Time
}

// Persona is a persona row joined with its user, as the detail shows it.
type Persona struct {
	UserID       string
	Email        string
	Name         string
	Archetype    string
	SystemPrompt string
	ModuleMix    json.RawMessage // as jsonb gives it back: keys reordered
	TickCadence  string
	LastActiveAt *time.Time
	CreatedAt    time.Time
}

// PersonaListing is one entry of the persona list.
type PersonaListing struct {
	UserID       string
	Email        string
	Name         string
	Archetype    string
	TickCadence  string
	LastActiveAt *time.Time
	CreatedAt    time.Time
	Actions7d    int
}

// Action is a row of auth.persona_actions (written by the persona runner).
type Action struct {
	ID           string
	PersonaID    string
	TickID       string
	ToolName     string
	InputHash    *string
	Result       string // "ok" or "error"
	ErrorMessage *string
	LatencyMs    *int
	CreatedAt    time.Time
}

// Feedback is a row of auth.persona_feedback.
type Feedback struct {
	ID        string
	PersonaID string
	TickID    string
	Module    string
	Rating    int // 1 to 5
	Notes     *string
	CreatedAt time.Time
}

// ModuleCount is the number of feedback rows of one module.
type ModuleCount struct {
	Module string
	Count  int
}

// Session is a row of auth.sessions, created by a successful sign-in.
type Session struct {
	ID        string
	Token     string
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
	IPAddress string // "" when not known
	UserAgent string
}

// LoginAttempt is a row of auth.login_attempts: a failed login of the
// runner's route, keyed by the address exactly as it was sent. The rows
// do not reference auth.users, so they outlive the user.
type LoginAttempt struct {
	Email       string
	AttemptedAt time.Time
}

// UserListing is one user of the admin users search.
type UserListing struct {
	ID           string
	Email        string
	Name         string
	Role         string
	AccessTier   string
	CreatedAt    time.Time
	LastActiveAt *time.Time // latest session activity; nil when the user never signed in
}

// UserQuery selects a page of the admin users search. An empty Search
// matches everyone; otherwise it is an ILIKE pattern ('%' and '_' are
// wildcards, as in the real service) matched against email and name. A
// negative Limit means no limit.
type UserQuery struct {
	Search string
	Offset int
	Limit  int
}

// PersonaEdit changes a persona behind the API's back; nil fields are kept.
type PersonaEdit struct {
	Name         *string // auth.users.name
	Archetype    *string
	SystemPrompt *string
	ModuleMix    json.RawMessage
	TickCadence  *string
}

// RowCounts counts the rows that belong to one user id, table by table.
type RowCounts struct {
	Users    int
	Accounts int
	Sessions int
	Personas int
	Actions  int
	Feedback int
}

// Store is the database behind the stand-in: the same tables as mana-auth's
// auth schema, reached through small steps that the server composes the way
// the real service does (with no transaction around them, so the real
// service's partial failures happen here too).
type Store interface {
	// UserByEmail finds a user by email compared verbatim (case-sensitive).
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByID finds a user by id.
	UserByID(ctx context.Context, id string) (User, error)
	// CreateUser inserts the user and its credential account holding
	// passwordHash. A taken email gives ErrEmailTaken.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	// PasswordHash returns the credential account's password hash.
	PasswordHash(ctx context.Context, userID string) (string, error)
	// StampPersona sets kind=persona, access_tier=founder,
	// email_verified=true, updated_at=at. An unknown id changes nothing and
	// is not an error (an UPDATE that matches no row).
	StampPersona(ctx context.Context, userID string, at time.Time) error
	// UpsertPersona inserts the persona row or updates archetype, prompt,
	// module mix and cadence, keeping created_at and last_active_at. An
	// unknown user gives ErrNoSuchUser.
	UpsertPersona(ctx context.Context, p PersonaRow) error
	// ListPersonas returns every persona row joined with its user (whatever
	// the user's kind), newest created_at first, with the number of actions
	// created after actionsSince.
	ListPersonas(ctx context.Context, actionsSince time.Time) ([]PersonaListing, error)
	// Persona returns one persona row joined with its user.
	Persona(ctx context.Context, userID string) (Persona, error)
	// RecentActions returns the persona's newest actions, at most limit.
	RecentActions(ctx context.Context, personaID string, limit int) ([]Action, error)
	// FeedbackCounts counts the persona's feedback rows per module.
	FeedbackCounts(ctx context.Context, personaID string) ([]ModuleCount, error)
	// DeleteUser deletes the user; the foreign keys cascade to accounts,
	// sessions, the persona row, its actions and its feedback.
	DeleteUser(ctx context.Context, id string) error
	// SearchUsers returns one page of users, newest first, and the number
	// of users matching in all.
	SearchUsers(ctx context.Context, q UserQuery) ([]UserListing, int, error)
	// UsersByTier returns the users of one access tier (the legacy listing);
	// a value outside the enum is an error, as the enum cast is in Postgres.
	UsersByTier(ctx context.Context, tier string) ([]UserListing, error)
	// CreateSession records a sign-in.
	CreateSession(ctx context.Context, s Session) error
	// SessionByToken finds a session by its token (expired ones included).
	SessionByToken(ctx context.Context, token string) (Session, error)
	// DeleteSession deletes the session with this token, as a sign-out
	// does; deleting one that does not exist is no error.
	DeleteSession(ctx context.Context, token string) error
	// RecordLoginFailure adds a failed attempt for the address exactly as
	// given (no lowercasing) at the time at.
	RecordLoginFailure(ctx context.Context, email string, at time.Time) error
	// LoginFailures returns when the failed attempts recorded for the
	// address exactly as given were made, oldest first.
	LoginFailures(ctx context.Context, email string) ([]time.Time, error)
	// ClearLoginFailures deletes the attempts recorded for the address
	// exactly as given, as a successful login does (and as someone with
	// psql may).
	ClearLoginFailures(ctx context.Context, email string) error

	// Back doors for tests: changes made directly in the database, as the
	// persona runner or a person with psql would make them.

	// AddAction inserts a persona_actions row; an unknown persona gives ErrNoSuchUser.
	AddAction(ctx context.Context, a Action) error
	// AddFeedback inserts a persona_feedback row; an unknown persona gives ErrNoSuchUser.
	AddFeedback(ctx context.Context, f Feedback) error
	// SetLastActiveAt sets personas.last_active_at (nil clears it).
	SetLastActiveAt(ctx context.Context, personaID string, at *time.Time) error
	// EditPersona changes a persona's fields directly.
	EditPersona(ctx context.Context, userID string, e PersonaEdit) error
	// SetUserKind sets users.kind (e.g. back to human).
	SetUserKind(ctx context.Context, userID, kind string) error
	// DeletePersonaRow deletes the auth.personas row alone (cascading to
	// its actions and feedback); the user stays, of kind persona.
	DeletePersonaRow(ctx context.Context, userID string) error
	// MarkVerified sets users.email_verified, as clicking the mailed link would.
	MarkVerified(ctx context.Context, userID string) error
	// SetUserRole sets users.role, as an operator makes an admin with psql.
	SetUserRole(ctx context.Context, userID, role string) error
	// RowCounts counts what is stored for one user id.
	RowCounts(ctx context.Context, userID string) (RowCounts, error)
	// LoginAttempts returns every recorded failed login, oldest first.
	LoginAttempts(ctx context.Context) ([]LoginAttempt, error)
}
