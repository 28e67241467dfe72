package manaauthdev

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxConns bounds the connections a PostgresStore opens.
const maxConns = 8

// PostgresStore is a Store in PostgreSQL, in the tables of mana-auth's auth
// schema (created if missing). Like the real service it runs each step on
// its own, without a transaction around the steps of an upsert. Safe for
// concurrent use.
type PostgresStore struct {
	pool *pgxpool.Pool
}

var _ Store = (*PostgresStore)(nil)

// OpenPostgres connects to the database at dsn and creates the auth schema's
// tables there if they are missing.
func OpenPostgres(ctx context.Context, dsn string) (*PostgresStore, error) {
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the database address: %w", err)
	}
	config.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err == nil {
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			// Two servers starting at once on one database must not race on
			// CREATE TYPE / CREATE TABLE.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7247361)`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, SchemaSQL)
			return err
		})
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		cc := config.ConnConfig
		return nil, fmt.Errorf("preparing the auth schema in %s@%s/%s: %w", cc.User, cc.Host, cc.Database, err)
	}
	return &PostgresStore{pool: pool}, nil
}

// Close closes the store's connections, once those in use are released.
func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}

func (s *PostgresStore) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := s.pool.Exec(ctx, sql, args...)
	return tag.RowsAffected(), translate(err)
}

// translate maps the database's refusals to the Store's errors.
func translate(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && pgErr.ConstraintName == "users_email_unique":
			return fmt.Errorf("%w: %s", ErrEmailTaken, pgErr.Message)
		case pgErr.Code == "23503":
			return fmt.Errorf("%s: %w", pgErr.Message, ErrNoSuchUser)
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// update is exec of a statement that must match a row: none is ErrNotFound.
func (s *PostgresStore) update(ctx context.Context, sql string, args ...any) error {
	n, err := s.exec(ctx, sql, args...)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// query runs sql and returns its rows, each made a T by to. (The rows of
// a query that failed carry its error, which CollectRows returns.)
func query[T any](ctx context.Context, s *PostgresStore, to pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, _ := s.pool.Query(ctx, sql, args...)
	out, err := pgx.CollectRows(rows, to)
	return out, translate(err)
}

// queryRow is query of exactly one row: none is ErrNotFound.
func queryRow[T any](ctx context.Context, s *PostgresStore, sql string, args ...any) (T, error) {
	rows, _ := s.pool.Query(ctx, sql, args...)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[T])
	return out, translate(err)
}

const userColumns = `id, name, email, email_verified, role::text, access_tier::text, kind::text, created_at, updated_at`

func (s *PostgresStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return queryRow[User](ctx, s, `SELECT `+userColumns+` FROM auth.users WHERE email = $1`, email)
}

func (s *PostgresStore) UserByID(ctx context.Context, id string) (User, error) {
	return queryRow[User](ctx, s, `SELECT `+userColumns+` FROM auth.users WHERE id = $1`, id)
}

// CreateUser inserts the user, then its credential account, in two steps
// as Better Auth does.
func (s *PostgresStore) CreateUser(ctx context.Context, u User, passwordHash string) error {
	_, err := s.exec(ctx, `INSERT INTO auth.users (id, name, email, email_verified, role, access_tier, kind, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5::auth.user_role, $6::auth.access_tier, $7::auth.user_kind, $8, $9)`,
		u.ID, u.Name, u.Email, u.EmailVerified, u.Role, u.AccessTier, u.Kind, u.CreatedAt, u.UpdatedAt)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO auth.accounts (id, account_id, provider_id, user_id, password, created_at, updated_at)
		VALUES ($1, $2, 'credential', $2, $3, $4, $4)`, NewID(), u.ID, passwordHash, u.CreatedAt)
	return err
}

func (s *PostgresStore) PasswordHash(ctx context.Context, userID string) (string, error) {
	// An account without a password (NULL) has none to check either.
	hash, err := queryRow[struct{ Hash string }](ctx, s, `SELECT password FROM auth.accounts
		WHERE user_id = $1 AND provider_id = 'credential' AND password IS NOT NULL LIMIT 1`, userID)
	return hash.Hash, err
}

func (s *PostgresStore) StampPersona(ctx context.Context, userID string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE auth.users SET kind = 'persona', access_tier = 'founder', email_verified = true, updated_at = $2 WHERE id = $1`, userID, at)
	return err
}

func (s *PostgresStore) UpsertPersona(ctx context.Context, p PersonaRow) error {
	_, err := s.exec(ctx, `INSERT INTO auth.personas (user_id, archetype, system_prompt, module_mix, tick_cadence, created_at)
		VALUES ($1, $2, $3, $4::text::jsonb, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET
			archetype = EXCLUDED.archetype,
			system_prompt = EXCLUDED.system_prompt,
			module_mix = EXCLUDED.module_mix,
			tick_cadence = EXCLUDED.tick_cadence`,
		p.UserID, p.Archetype, p.SystemPrompt, string(p.ModuleMix), p.TickCadence, p.CreatedAt)
	return err
}

func (s *PostgresStore) ListPersonas(ctx context.Context, actionsSince time.Time) ([]PersonaListing, error) {
	return query(ctx, s, pgx.RowToStructByPos[PersonaListing], `SELECT p.user_id, u.email, u.name, p.archetype, p.tick_cadence, p.last_active_at, p.created_at,
			(SELECT count(*) FROM auth.persona_actions a WHERE a.persona_id = p.user_id AND a.created_at > $1)
		FROM auth.personas p JOIN auth.users u ON u.id = p.user_id
		ORDER BY p.created_at DESC`, actionsSince)
}

func (s *PostgresStore) Persona(ctx context.Context, userID string) (Persona, error) {
	return queryRow[Persona](ctx, s, `SELECT p.user_id, u.email, u.name, p.archetype, p.system_prompt, p.module_mix::text, p.tick_cadence, p.last_active_at, p.created_at
		FROM auth.personas p JOIN auth.users u ON u.id = p.user_id WHERE p.user_id = $1`, userID)
}

func (s *PostgresStore) RecentActions(ctx context.Context, personaID string, limit int) ([]Action, error) {
	return query(ctx, s, pgx.RowToStructByPos[Action], `SELECT id, persona_id, tick_id, tool_name, input_hash, result, error_message, latency_ms, created_at
		FROM auth.persona_actions WHERE persona_id = $1 ORDER BY created_at DESC, id LIMIT $2`, personaID, limit)
}

func (s *PostgresStore) FeedbackCounts(ctx context.Context, personaID string) ([]ModuleCount, error) {
	return query(ctx, s, pgx.RowToStructByPos[ModuleCount],
		`SELECT module, count(*) FROM auth.persona_feedback WHERE persona_id = $1 GROUP BY module ORDER BY module`, personaID)
}

func (s *PostgresStore) DeleteUser(ctx context.Context, id string) error {
	return s.update(ctx, `DELETE FROM auth.users WHERE id = $1`, id)
}

const searchWhere = `($1::text = '' OR u.email ILIKE '%' || $1::text || '%' OR u.name ILIKE '%' || $1::text || '%')`

func (s *PostgresStore) SearchUsers(ctx context.Context, q UserQuery) ([]UserListing, int, error) {
	var limit *int // LIMIT NULL: no limit
	if q.Limit >= 0 {
		limit = &q.Limit
	}
	total, err := queryRow[struct{ N int }](ctx, s, `SELECT count(*) FROM auth.users u WHERE `+searchWhere, q.Search)
	if err != nil {
		return nil, 0, err
	}
	out, err := query(ctx, s, pgx.RowToStructByPos[UserListing], `SELECT u.id, u.email, u.name, u.role::text, u.access_tier::text, u.created_at,
			(SELECT max(s.updated_at) FROM auth.sessions s WHERE s.user_id = u.id)
		FROM auth.users u WHERE `+searchWhere+`
		ORDER BY u.created_at DESC, u.id LIMIT $2 OFFSET $3`, q.Search, limit, q.Offset)
	return out, total.N, err
}

func (s *PostgresStore) UsersByTier(ctx context.Context, tier string) ([]UserListing, error) {
	return query(ctx, s, pgx.RowToStructByPos[UserListing], `SELECT id, email, name, role::text, access_tier::text, created_at, NULL::timestamptz
		FROM auth.users WHERE access_tier = $1::text::auth.access_tier ORDER BY updated_at, id`, tier)
}

func (s *PostgresStore) CreateSession(ctx context.Context, sess Session) error {
	_, err := s.exec(ctx, `INSERT INTO auth.sessions (id, token, user_id, expires_at, created_at, updated_at, ip_address, user_agent)
		VALUES ($1, $2, $3, $4, $5, $5, nullif($6, ''), nullif($7, ''))`,
		sess.ID, sess.Token, sess.UserID, sess.ExpiresAt, sess.CreatedAt, sess.IPAddress, sess.UserAgent)
	return err
}

func (s *PostgresStore) SessionByToken(ctx context.Context, token string) (Session, error) {
	return queryRow[Session](ctx, s, `SELECT id, token, user_id, expires_at, created_at, coalesce(ip_address, ''), coalesce(user_agent, '')
		FROM auth.sessions WHERE token = $1`, token)
}

func (s *PostgresStore) DeleteSession(ctx context.Context, token string) error {
	_, err := s.exec(ctx, `DELETE FROM auth.sessions WHERE token = $1`, token)
	return err
}

func (s *PostgresStore) RecordLoginFailure(ctx context.Context, email string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO auth.login_attempts (email, successful, ip_address, attempted_at) VALUES ($1, false, 'unknown', $2)`, email, at)
	return err
}

func (s *PostgresStore) LoginFailures(ctx context.Context, email string) ([]time.Time, error) {
	return query(ctx, s, pgx.RowTo[time.Time], `SELECT attempted_at FROM auth.login_attempts WHERE email = $1 AND NOT successful ORDER BY attempted_at, id`, email)
}

func (s *PostgresStore) ClearLoginFailures(ctx context.Context, email string) error {
	_, err := s.exec(ctx, `DELETE FROM auth.login_attempts WHERE email = $1`, email)
	return err
}

func (s *PostgresStore) LoginAttempts(ctx context.Context) ([]LoginAttempt, error) {
	return query(ctx, s, pgx.RowToStructByPos[LoginAttempt], `SELECT email, attempted_at FROM auth.login_attempts WHERE NOT successful ORDER BY attempted_at, id`)
}

func (s *PostgresStore) AddAction(ctx context.Context, a Action) error {
	_, err := s.exec(ctx, `INSERT INTO auth.persona_actions (id, persona_id, tick_id, tool_name, input_hash, result, error_message, latency_ms, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.PersonaID, a.TickID, a.ToolName, a.InputHash, a.Result, a.ErrorMessage, a.LatencyMs, a.CreatedAt)
	return err
}

func (s *PostgresStore) AddFeedback(ctx context.Context, f Feedback) error {
	_, err := s.exec(ctx, `INSERT INTO auth.persona_feedback (id, persona_id, tick_id, module, rating, notes, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		f.ID, f.PersonaID, f.TickID, f.Module, f.Rating, f.Notes, f.CreatedAt)
	return err
}

func (s *PostgresStore) SetLastActiveAt(ctx context.Context, personaID string, at *time.Time) error {
	return s.update(ctx, `UPDATE auth.personas SET last_active_at = $2 WHERE user_id = $1`, personaID, at)
}

func (s *PostgresStore) EditPersona(ctx context.Context, userID string, e PersonaEdit) error {
	var mix *string
	if e.ModuleMix != nil {
		m := string(e.ModuleMix)
		mix = &m
	}
	err := s.update(ctx, `UPDATE auth.personas SET
			archetype = COALESCE($2, archetype),
			system_prompt = COALESCE($3, system_prompt),
			module_mix = COALESCE($4::text::jsonb, module_mix),
			tick_cadence = COALESCE($5, tick_cadence)
		WHERE user_id = $1`, userID, e.Archetype, e.SystemPrompt, mix, e.TickCadence)
	if err == nil && e.Name != nil {
		_, err = s.exec(ctx, `UPDATE auth.users SET name = $2 WHERE id = $1`, userID, *e.Name)
	}
	return err
}

func (s *PostgresStore) SetUserKind(ctx context.Context, userID, kind string) error {
	return s.update(ctx, `UPDATE auth.users SET kind = $2::text::auth.user_kind WHERE id = $1`, userID, kind)
}

func (s *PostgresStore) DeletePersonaRow(ctx context.Context, userID string) error {
	return s.update(ctx, `DELETE FROM auth.personas WHERE user_id = $1`, userID)
}

func (s *PostgresStore) MarkVerified(ctx context.Context, userID string) error {
	return s.update(ctx, `UPDATE auth.users SET email_verified = true WHERE id = $1`, userID)
}

func (s *PostgresStore) SetUserRole(ctx context.Context, userID, role string) error {
	return s.update(ctx, `UPDATE auth.users SET role = $2::text::auth.user_role WHERE id = $1`, userID, role)
}

func (s *PostgresStore) RowCounts(ctx context.Context, userID string) (RowCounts, error) {
	return queryRow[RowCounts](ctx, s, `SELECT
			(SELECT count(*) FROM auth.users WHERE id = $1),
			(SELECT count(*) FROM auth.accounts WHERE user_id = $1),
			(SELECT count(*) FROM auth.sessions WHERE user_id = $1),
			(SELECT count(*) FROM auth.personas WHERE user_id = $1),
			(SELECT count(*) FROM auth.persona_actions WHERE persona_id = $1),
			(SELECT count(*) FROM auth.persona_feedback WHERE persona_id = $1)`, userID)
}
