package manaauthdev

// SchemaSQL creates, if missing, the tables of mana-auth's auth schema that
// the stand-in uses, with the same enums, keys and on-delete cascades, so
// that the database refuses and cascades what the real one does. Columns
// the stand-in never reads are left out.
const SchemaSQL = `
CREATE SCHEMA IF NOT EXISTS auth;

DO $$ BEGIN
	CREATE TYPE auth.user_role AS ENUM ('user', 'admin', 'service');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
	CREATE TYPE auth.access_tier AS ENUM ('guest', 'public', 'beta', 'alpha', 'founder');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
	CREATE TYPE auth.user_kind AS ENUM ('human', 'persona', 'system');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS auth.users (
	id                 text PRIMARY KEY,
	name               text NOT NULL,
	email              text NOT NULL CONSTRAINT users_email_unique UNIQUE,
	email_verified     boolean NOT NULL DEFAULT false,
	image              text,
	two_factor_enabled boolean DEFAULT false,
	role               auth.user_role NOT NULL DEFAULT 'user',
	access_tier        auth.access_tier NOT NULL DEFAULT 'public',
	kind               auth.user_kind NOT NULL DEFAULT 'human',
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now(),
	deleted_at         timestamptz
);

CREATE TABLE IF NOT EXISTS auth.accounts (
	id          text PRIMARY KEY,
	account_id  text NOT NULL,
	provider_id text NOT NULL,
	user_id     text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
	password    text,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS accounts_user_id_idx ON auth.accounts (user_id);

CREATE TABLE IF NOT EXISTS auth.sessions (
	id         text PRIMARY KEY,
	token      text NOT NULL UNIQUE,
	user_id    text NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
	expires_at timestamptz NOT NULL,
	ip_address text,
	user_agent text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON auth.sessions (user_id);

-- The runner's login records each failed attempt here, keyed by the
-- address exactly as sent; no foreign key, so the rows outlive the user.
CREATE TABLE IF NOT EXISTS auth.login_attempts (
	id           serial PRIMARY KEY,
	email        text NOT NULL,
	successful   boolean NOT NULL DEFAULT false,
	ip_address   text,
	attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_attempts_email_idx ON auth.login_attempts (email, attempted_at);

CREATE TABLE IF NOT EXISTS auth.personas (
	user_id        text PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
	archetype      text NOT NULL,
	system_prompt  text NOT NULL,
	module_mix     jsonb NOT NULL,
	tick_cadence   text NOT NULL DEFAULT 'daily',
	last_active_at timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS personas_archetype_idx ON auth.personas (archetype);

CREATE TABLE IF NOT EXISTS auth.persona_actions (
	id            text PRIMARY KEY,
	persona_id    text NOT NULL REFERENCES auth.personas (user_id) ON DELETE CASCADE,
	tick_id       text NOT NULL,
	tool_name     text NOT NULL,
	input_hash    text,
	result        text NOT NULL CHECK (result IN ('ok', 'error')),
	error_message text,
	latency_ms    integer,
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS persona_actions_persona_created_idx ON auth.persona_actions (persona_id, created_at);

CREATE TABLE IF NOT EXISTS auth.persona_feedback (
	id         text PRIMARY KEY,
	persona_id text NOT NULL REFERENCES auth.personas (user_id) ON DELETE CASCADE,
	tick_id    text NOT NULL,
	module     text NOT NULL,
	rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
	notes      text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS persona_feedback_persona_idx ON auth.persona_feedback (persona_id);
`
