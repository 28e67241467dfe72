-- The read-only PostgreSQL role of pull-request plans (plan-pr.yml).
--
-- A pull request's job runs code the pull request can change, so it gets no
-- admin JWT. It plans with `--live` (mana-auth's tables, read in one query)
-- and reads the Postgres state, both as this role: it can read personas and
-- the recorded state, and can write nothing. Run each part as a superuser
-- (or the tables' owner), in the database the heading names; the test suite
-- (examples/ci) runs this file as written. Choose a real password.

-- [server]
CREATE ROLE personactl_plan LOGIN PASSWORD 'change-me';

-- [mana-auth database]
-- PERSONACTL_LIVE_DSN: what --live reads (personas, counts of their actions
-- and feedback) and, of the users, only the columns it needs: which address
-- belongs to whom, and whether that is a persona. People's other data stays
-- out of reach.
GRANT USAGE ON SCHEMA auth TO personactl_plan;
GRANT SELECT (id, email, name, kind) ON auth.users TO personactl_plan;
GRANT SELECT ON auth.personas, auth.persona_actions, auth.persona_feedback TO personactl_plan;

-- [state database]
-- PERSONACTL_STATE: the schema personactl created at its first apply (run
-- this after it). Reading needs no lock, so plans never wait for a deploy.
GRANT USAGE ON SCHEMA personactl TO personactl_plan;
GRANT SELECT ON ALL TABLES IN SCHEMA personactl TO personactl_plan;
