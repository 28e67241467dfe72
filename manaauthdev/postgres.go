package manaauthdev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxConns bounds the connections a PostgresStore opens.
const maxConns = 8

// PostgresStore is a Store in PostgreSQL, in the tables of mana-auth's auth
// schema (created if missing). Like the real service it runs each step on
// its own, without a transaction around the steps of an upsert. Safe for
// concurrent use.
type PostgresStore struct {
	config *pgx.ConnConfig
	slots  chan struct{}  // one per open or opening connection
	idle   chan *pgx.Conn // connections ready for use

	closeOnce sync.Once
	closed    atomic.Bool
}

var _ Store = (*PostgresStore)(nil)

// OpenPostgres connects to the database at dsn and creates the auth schema's
// tables there if they are missing.
func OpenPostgres(ctx context.Context, dsn string) (*PostgresStore, error) {
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the database address: %w", err)
	}
	s := &PostgresStore{
		config: config,
		slots:  make(chan struct{}, maxConns),
		idle:   make(chan *pgx.Conn, maxConns),
	}
	err = s.do(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		// Two servers starting at once on one database must not race on
		// CREATE TYPE / CREATE TABLE.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7247361)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, schemaSQL); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("preparing the auth schema in %s@%s/%s: %w", config.User, config.Host, config.Database, err)
	}
	return s, nil
}

// Close closes the idle connections; connections in use close when released.
func (s *PostgresStore) Close() error {
	s.closed.Store(true)
	s.closeOnce.Do(func() {
		for {
			select {
			case c := <-s.idle:
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				c.Close(ctx)
				cancel()
			default:
				return
			}
		}
	})
	return nil
}

// do runs fn on a connection of the store's small pool.
func (s *PostgresStore) do(ctx context.Context, fn func(*pgx.Conn) error) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	var c *pgx.Conn
	select {
	case c = <-s.idle:
	default:
	}
	if c == nil || c.IsClosed() {
		var err error
		if c, err = pgx.ConnectConfig(ctx, s.config.Copy()); err != nil {
			return err
		}
	}
	err := fn(c)
	if s.closed.Load() || c.IsClosed() || c.PgConn().IsBusy() || c.PgConn().TxStatus() != 'I' {
		closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.Close(closeCtx)
		cancel()
		return err
	}
	select {
	case s.idle <- c:
	default:
		c.Close(ctx)
	}
	return err
}

func (s *PostgresStore) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	var n int64
	err := s.do(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, sql, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, translate(err)
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

const userColumns = `id, name, email, email_verified, role::text, access_tier::text, kind::text, created_at, updated_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Role, &u.AccessTier, &u.Kind, &u.CreatedAt, &u.UpdatedAt)
	return u, translate(err)
}

func (s *PostgresStore) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.do(ctx, func(c *pgx.Conn) error {
		var err error
		u, err = scanUser(c.QueryRow(ctx, `SELECT `+userColumns+` FROM auth.users WHERE email = $1`, email))
		return err
	})
	return u, err
}

func (s *PostgresStore) UserByID(ctx context.Context, id string) (User, error) {
	var u User
	err := s.do(ctx, func(c *pgx.Conn) error {
		var err error
		u, err = scanUser(c.QueryRow(ctx, `SELECT `+userColumns+` FROM auth.users WHERE id = $1`, id))
		return err
	})
	return u, err
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
	var hash *string
	err := s.do(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT password FROM auth.accounts WHERE user_id = $1 AND provider_id = 'credential' LIMIT 1`, userID).Scan(&hash)
	})
	if err = translate(err); err != nil {
		return "", err
	}
	if hash == nil {
		return "", ErrNotFound
	}
	return *hash, nil
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
	var out []PersonaListing
	err := s.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT p.user_id, u.email, u.name, p.archetype, p.tick_cadence, p.last_active_at, p.created_at,
				(SELECT count(*) FROM auth.persona_actions a WHERE a.persona_id = p.user_id AND a.created_at > $1)
			FROM auth.personas p JOIN auth.users u ON u.id = p.user_id
			ORDER BY p.created_at DESC`, actionsSince)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (PersonaListing, error) {
			var p PersonaListing
			var n int64
			err := row.Scan(&p.UserID, &p.Email, &p.Name, &p.Archetype, &p.TickCadence, &p.LastActiveAt, &p.CreatedAt, &n)
			p.Actions7d = int(n)
			return p, err
		})
		return err
	})
	return out, translate(err)
}

func (s *PostgresStore) Persona(ctx context.Context, userID string) (Persona, error) {
	var p Persona
	err := s.do(ctx, func(c *pgx.Conn) error {
		var mix string
		err := c.QueryRow(ctx, `SELECT p.user_id, u.email, u.name, p.archetype, p.system_prompt, p.module_mix::text, p.tick_cadence, p.last_active_at, p.created_at
			FROM auth.personas p JOIN auth.users u ON u.id = p.user_id WHERE p.user_id = $1`, userID).
			Scan(&p.UserID, &p.Email, &p.Name, &p.Archetype, &p.SystemPrompt, &mix, &p.TickCadence, &p.LastActiveAt, &p.CreatedAt)
		p.ModuleMix = json.RawMessage(mix)
		return err
	})
	return p, translate(err)
}

func (s *PostgresStore) RecentActions(ctx context.Context, personaID string, limit int) ([]Action, error) {
	var out []Action
	err := s.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT id, persona_id, tick_id, tool_name, input_hash, result, error_message, latency_ms, created_at
			FROM auth.persona_actions WHERE persona_id = $1 ORDER BY created_at DESC, id LIMIT $2`, personaID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Action, error) {
			var a Action
			err := row.Scan(&a.ID, &a.PersonaID, &a.TickID, &a.ToolName, &a.InputHash, &a.Result, &a.ErrorMessage, &a.LatencyMs, &a.CreatedAt)
			return a, err
		})
		return err
	})
	return out, translate(err)
}

func (s *PostgresStore) FeedbackCounts(ctx context.Context, personaID string) ([]ModuleCount, error) {
	var out []ModuleCount
	err := s.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT module, count(*) FROM auth.persona_feedback WHERE persona_id = $1 GROUP BY module ORDER BY module`, personaID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ModuleCount, error) {
			var m ModuleCount
			var n int64
			err := row.Scan(&m.Module, &n)
			m.Count = int(n)
			return m, err
		})
		return err
	})
	return out, translate(err)
}

func (s *PostgresStore) DeleteUser(ctx context.Context, id string) error {
	n, err := s.exec(ctx, `DELETE FROM auth.users WHERE id = $1`, id)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

const searchWhere = `($1::text = '' OR u.email ILIKE '%' || $1::text || '%' OR u.name ILIKE '%' || $1::text || '%')`

func (s *PostgresStore) SearchUsers(ctx context.Context, q UserQuery) ([]UserListing, int, error) {
	var out []UserListing
	var total int64
	var limit *int // LIMIT NULL: no limit
	if q.Limit >= 0 {
		limit = &q.Limit
	}
	err := s.do(ctx, func(c *pgx.Conn) error {
		if err := c.QueryRow(ctx, `SELECT count(*) FROM auth.users u WHERE `+searchWhere, q.Search).Scan(&total); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT u.id, u.email, u.name, u.role::text, u.access_tier::text, u.created_at,
				(SELECT max(s.updated_at) FROM auth.sessions s WHERE s.user_id = u.id)
			FROM auth.users u WHERE `+searchWhere+`
			ORDER BY u.created_at DESC, u.id LIMIT $2 OFFSET $3`, q.Search, limit, q.Offset)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (UserListing, error) {
			var u UserListing
			err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.AccessTier, &u.CreatedAt, &u.LastActiveAt)
			return u, err
		})
		return err
	})
	return out, int(total), translate(err)
}

func (s *PostgresStore) UsersByTier(ctx context.Context, tier string) ([]UserListing, error) {
	var out []UserListing
	err := s.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT id, email, name, role::text, access_tier::text, created_at
			FROM auth.users WHERE access_tier = $1::text::auth.access_tier ORDER BY updated_at, id`, tier)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (UserListing, error) {
			var u UserListing
			err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.AccessTier, &u.CreatedAt)
			return u, err
		})
		return err
	})
	return out, translate(err)
}

func (s *PostgresStore) CreateSession(ctx context.Context, sess Session) error {
	_, err := s.exec(ctx, `INSERT INTO auth.sessions (id, token, user_id, expires_at, created_at, updated_at, ip_address, user_agent)
		VALUES ($1, $2, $3, $4, $5, $5, nullif($6, ''), nullif($7, ''))`,
		sess.ID, sess.Token, sess.UserID, sess.ExpiresAt, sess.CreatedAt, sess.IPAddress, sess.UserAgent)
	return err
}

func (s *PostgresStore) SessionByToken(ctx context.Context, token string) (Session, error) {
	var sess Session
	err := s.do(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT id, token, user_id, expires_at, created_at, coalesce(ip_address, ''), coalesce(user_agent, '')
			FROM auth.sessions WHERE token = $1`, token).
			Scan(&sess.ID, &sess.Token, &sess.UserID, &sess.ExpiresAt, &sess.CreatedAt, &sess.IPAddress, &sess.UserAgent)
	})
	return sess, translate(err)
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
	var out []time.Time
	err := s.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT attempted_at FROM auth.login_attempts WHERE email = $1 AND NOT successful ORDER BY attempted_at, id`, email)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[time.Time])
		return err
	})
	return out, translate(err)
}

func (s *PostgresStore) ClearLoginFailures(ctx context.Context, email string) error {
	_, err := s.exec(ctx, `DELETE FROM auth.login_attempts WHERE email = $1`, email)
	return err
}

func (s *PostgresStore) LoginAttempts(ctx context.Context) ([]LoginAttempt, error) {
	var out []LoginAttempt
	err := s.do(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT email, attempted_at FROM auth.login_attempts WHERE NOT successful ORDER BY attempted_at, id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LoginAttempt, error) {
			var a LoginAttempt
			err := row.Scan(&a.Email, &a.AttemptedAt)
			return a, err
		})
		return err
	})
	return out, translate(err)
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
	n, err := s.exec(ctx, `UPDATE auth.personas SET last_active_at = $2 WHERE user_id = $1`, personaID, at)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func (s *PostgresStore) EditPersona(ctx context.Context, userID string, e PersonaEdit) error {
	var mix *string
	if e.ModuleMix != nil {
		m := string(e.ModuleMix)
		mix = &m
	}
	n, err := s.exec(ctx, `UPDATE auth.personas SET
			archetype = COALESCE($2, archetype),
			system_prompt = COALESCE($3, system_prompt),
			module_mix = COALESCE($4::text::jsonb, module_mix),
			tick_cadence = COALESCE($5, tick_cadence)
		WHERE user_id = $1`, userID, e.Archetype, e.SystemPrompt, mix, e.TickCadence)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	if e.Name != nil {
		_, err = s.exec(ctx, `UPDATE auth.users SET name = $2 WHERE id = $1`, userID, *e.Name)
	}
	return err
}

func (s *PostgresStore) SetUserKind(ctx context.Context, userID, kind string) error {
	n, err := s.exec(ctx, `UPDATE auth.users SET kind = $2::text::auth.user_kind WHERE id = $1`, userID, kind)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func (s *PostgresStore) DeletePersonaRow(ctx context.Context, userID string) error {
	n, err := s.exec(ctx, `DELETE FROM auth.personas WHERE user_id = $1`, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func (s *PostgresStore) MarkVerified(ctx context.Context, userID string) error {
	n, err := s.exec(ctx, `UPDATE auth.users SET email_verified = true WHERE id = $1`, userID)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func (s *PostgresStore) SetUserRole(ctx context.Context, userID, role string) error {
	n, err := s.exec(ctx, `UPDATE auth.users SET role = $2::text::auth.user_role WHERE id = $1`, userID, role)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

func (s *PostgresStore) RowCounts(ctx context.Context, userID string) (RowCounts, error) {
	var c RowCounts
	err := s.do(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM auth.users WHERE id = $1),
				(SELECT count(*) FROM auth.accounts WHERE user_id = $1),
				(SELECT count(*) FROM auth.sessions WHERE user_id = $1),
				(SELECT count(*) FROM auth.personas WHERE user_id = $1),
				(SELECT count(*) FROM auth.persona_actions WHERE persona_id = $1),
				(SELECT count(*) FROM auth.persona_feedback WHERE persona_id = $1)`, userID).
			Scan(&c.Users, &c.Accounts, &c.Sessions, &c.Personas, &c.Actions, &c.Feedback)
	})
	return c, translate(err)
}
