-- The read-only PostgreSQL role of pull-request plans (plan-pr.yml).
--
-- A pull request's job runs code the pull request can change, so it holds
-- no admin credential and no seed secret. It plans with `--live` and reads
-- the Postgres state, both as this role, which can write nothing and can
-- read, of mana-auth's users, only what a plan needs. Run each part as a
-- superuser (or the tables' owner), in the database the heading names; the
-- test suite (examples/ci) runs this file as written and checks, as this
-- role, every object it is granted. Choose a real password.

-- [server]
CREATE ROLE personactl_plan LOGIN PASSWORD 'change-me';

-- [mana-auth database]
-- PERSONACTL_LIVE_DSN. The role gets no table of the auth schema, only two
-- objects owned by whoever runs this (they read the tables with the
-- owner's rights); personactl uses them when they exist:
--   personactl_live.personas: the persona rows, each with its user's id,
--     address and name and the counts of its actions and ratings. A
--     security_barrier view, so that no function in a query's WHERE sees a
--     row the view leaves out (another user's).
--   personactl_live.address_holders(addresses): for each of the addresses
--     asked (compared exactly, lowercased, as mana-auth stores them; no
--     pattern), whether a user holds it, of what kind, that user's id and
--     creation time, and whether they ever signed in: what a plan needs to
--     refuse a create over a person's address and to tell an interrupted
--     create from a person. Never a name, never an address not asked for.
CREATE SCHEMA personactl_live;

CREATE VIEW personactl_live.personas WITH (security_barrier) AS
SELECT u.id AS user_id, u.email, u.name, p.archetype, p.system_prompt, p.module_mix, p.tick_cadence,
       p.created_at, p.last_active_at,
       (SELECT count(*) FROM auth.persona_actions a WHERE a.persona_id = p.user_id AND a.created_at > now() - interval '7 days') AS actions_7d,
       (SELECT count(*) FROM auth.persona_actions a WHERE a.persona_id = p.user_id) AS actions,
       (SELECT count(*) FROM auth.persona_feedback f WHERE f.persona_id = p.user_id) AS feedback
FROM auth.personas p
JOIN auth.users u ON u.id = p.user_id
WHERE u.kind = 'persona';

CREATE FUNCTION personactl_live.address_holders(addresses text[])
RETURNS TABLE (email text, kind text, user_id text, created_at timestamptz, signed_in boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT e.email, u.kind::text, u.id, u.created_at,
       EXISTS (SELECT 1 FROM auth.sessions s WHERE s.user_id = u.id)
FROM unnest(addresses) AS e(email)
JOIN auth.users u ON lower(u.email) = e.email
$$;

REVOKE ALL ON FUNCTION personactl_live.address_holders(text[]) FROM PUBLIC;
GRANT USAGE ON SCHEMA personactl_live TO personactl_plan;
GRANT SELECT ON personactl_live.personas TO personactl_plan;
GRANT EXECUTE ON FUNCTION personactl_live.address_holders(text[]) TO personactl_plan;

-- [state database]
-- PERSONACTL_STATE: the schema personactl created at its first apply (run
-- this after it). Reading needs no lock, so plans never wait for a deploy.
GRANT USAGE ON SCHEMA personactl TO personactl_plan;
GRANT SELECT ON ALL TABLES IN SCHEMA personactl TO personactl_plan;
