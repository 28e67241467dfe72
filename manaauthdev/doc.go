// Package manaauthdev is mana-auth-dev: a local stand-in for mana-auth's
// persona admin API, for demos, tests and
// trying a catalog change without the real service. It answers like the
// real service, quirks included, on loopback only, with its data in memory
// (MemoryStore) or in PostgreSQL in the tables of mana-auth's auth schema
// (PostgresStore), in a database that must exist.
//
// It must never share code with personactl's client packages (catalog,
// state, plan, apply): a bug in shared code would hide on both sides of
// every contract test. Fault injection (Faults) lets tests make the admin
// API fail on purpose.
//
// # Served
//
//   - GET /health
//   - POST /api/auth/sign-up/email, POST /api/auth/sign-in/email (Better Auth)
//   - POST /api/v1/auth/login (the persona runner's login, with its lockout)
//   - a signed-in session (testdata/contract/admin-token-exchanges.json):
//     POST /api/v1/auth/refresh, POST /api/v1/auth/session-to-token,
//     GET /api/auth/token, GET /api/auth/get-session and
//     GET /api/v1/auth/session (a token in set-auth-jwt),
//     POST /api/v1/auth/validate, POST /api/v1/auth/logout, and the JWKS
//     at GET /api/v1/auth/jwks and GET /api/auth/jwks
//   - GET, HEAD, POST /api/v1/admin/personas
//   - GET, HEAD, DELETE /api/v1/admin/personas/{id}
//   - GET, HEAD /api/v1/admin/users (?search=&page=&limit=, or ?tier= alone)
//
// # Tokens
//
// Each Server signs tokens shaped like mana-auth's (EdDSA JWTs with sub,
// email, role, sid, tier, iss, aud "mana", iat, exp) with a key of its own,
// made when it starts, and accepts a token only when that key signed it
// and its exp lies ahead of the server's clock (Options.Now), as mana-auth
// checks its JWKS: an expired, forged or foreign token gets 401 "Invalid
// or expired token", a valid one without role "admin" 403. MintToken and
// MintTokenFor make tokens of any role and lifetime, Sign tokens of any
// claims; SignToken (and devtest.Token) signs with a key no server trusts.
// Options.AdminToken and UserToken are static tokens accepted whole
// besides, for tokens given on the command line; the same string for both
// is refused (Options.Check), as it would make every user an admin.
//
// The tokens it issues to users (a login, a refresh, a session's) live
// Options.TokenTTL (15 minutes by default) and claim role "user" whatever
// the user's role, as mana-auth's do while role is missing from Better
// Auth's user.additionalFields (so an admin who signs in gets 403 from
// the admin API); with Options.FixedRoleClaim they claim the user's role,
// read at each issue, and Better Auth's user objects show it, as the
// fixed service does. AddAdmin makes a verified admin.
//
// # The real service's quirks, reproduced on purpose
//
// Each of these was observed on mana-auth, in the recorded exchanges
// (testdata/contract) or, for the empty name of item 3, the String() of
// item 6 and page=abc&limit=0 of item 11, by hand against the real service
// afterwards, and follows from its TypeScript as described; a client must
// cope with them, so the stand-in must not fix them:
//
//  1. The upsert looks the user up by email compared verbatim, while
//     Better Auth's sign-up stores the address lowercased. A mixed-case
//     address is created once; every later POST of it, and a POST of an
//     existing persona's address in other letter case, gets 500 Internal
//     server error (the duplicate sign-up answers a made-up id and the
//     persona insert violates the foreign key).
//  2. The upsert stamps ANY existing user with that address as a persona
//     (kind=persona, access_tier=founder, email verified), a person
//     included; the persona DELETE then hard-deletes them.
//  3. The upsert never changes the name or the password of an existing
//     user; a new user without a name is named after the part of the
//     address before the "@" forever. The route passes
//     body.name ?? email.split('@')[0] to the sign-up, and ?? replaces
//     only undefined and null: a name of "" is kept (Better Auth accepts
//     an empty name), while a missing name or null falls back.
//  4. The upsert answers 200 for a create and an update alike, echoing the
//     address exactly as sent; its steps run without a transaction.
//  5. Validation lists every failed rule in a fixed order, with a non-ASCII
//     "≥" in "password ≥ 8 chars required"; a missing address and one
//     without "@" give the same message; moduleMix [] passes as an
//     object; tickCadence "" passes and is stored as ""; a JSON array body
//     gives the full list; the JSON literal null gives 500; a body that is
//     not JSON, or empty, gives 400 "Invalid JSON body"; the Content-Type
//     header is ignored.
//  6. A new user with a password over 128 characters gets 500
//     {"error":"Sign-up failed","message":"Password too long"}. A field of
//     another type that passes the truthiness checks (an archetype of 42,
//     a systemPrompt that is an object or an array) reaches the database
//     as JavaScript's String() of it and is stored with 200: "42",
//     "[object Object]", "a,b"; [] is stored as "".
//  7. The list has no systemPrompt, no moduleMix, no kind; it ignores query
//     parameters (no paging), is ordered newest createdAt first, and joins
//     personas to users without looking at users.kind.
//  8. moduleMix is stored as jsonb: its keys come back reordered (shorter
//     keys first).
//  9. The detail's recentActions are the 20 newest of any age;
//     feedbackByModule[].avgRating is a count of ratings, not an average.
//  10. DELETE of a non-persona user (the calling admin included) is refused
//     with 400 and a hint; of an unknown or deleted id, 404; otherwise the
//     user row is deleted and the database cascades to the persona row,
//     its actions and feedback, sessions and accounts.
//  11. The users search answers 500 for any page holding a user who has
//     ever signed in (has a session), so a 200 never carries lastActiveAt;
//     ?tier=X alone answers an older shape {users:[…accessTier…],count}.
//     Its paging is the route's JavaScript and Drizzle: page and limit are
//     parseInt(page || '1') and parseInt(limit || '20'), printed with
//     JSON.stringify (NaN as null); Drizzle writes LIMIT only for a number
//     >= 0 (so NaN and negatives mean no limit) and OFFSET (page-1)*limit
//     only when it is truthy (not 0, not NaN), and PostgreSQL refuses a
//     negative OFFSET or a bigint out of range (500). So page=abc&limit=0
//     answers {"users":[],"total":N,"page":null,"limit":0}, with no users
//     and therefore never the 500 of item 11.
//  12. Errors come in three envelopes: {statusCode,message} from the
//     middleware and unhandled errors, {error[,message|details|hint]} from
//     the routes, {message,code} from Better Auth.
//  13. Authentication comes before everything, the body included. No
//     header, a Basic header, a lowercase "bearer" or "Bearer " with
//     nothing after it: 401 "Missing or invalid Authorization header";
//     any other unknown token: 401 "Invalid or expired token"; a valid
//     non-admin token: 403, on unknown paths under /api/v1/admin too.
//  14. Routing is Hono's: a GET or HEAD that finds nothing and ends in "/"
//     is redirected (301, absolute Location built from the Host header)
//     to the path without it, after the token check; POST with a trailing
//     slash, unknown methods and unknown paths get 404 with the text/plain
//     body "404 Not Found"; HEAD answers like GET without a body.
//  15. Better Auth's sign-up of an address that exists, in any letter case,
//     answers 200 with a made-up id and creates nothing; sign-in of an
//     unverified user is 403 EMAIL_NOT_VERIFIED, a wrong address or
//     password 401 INVALID_EMAIL_OR_PASSWORD; its session cookie is
//     mana.session_token (__Secure-mana.session_token over https), the
//     session token and its HMAC, URL-encoded, for 7 days. Only that
//     signed cookie turns into access tokens: the session token alone, as
//     a cookie or a Bearer token, gets each route's own 401. A refresh
//     does not extend the session. The logout always answers 200 and
//     clears the cookies, but with the cookie it needs an Origin (or
//     Referer) of the web app (http://localhost:5173) or of the service
//     itself (403 MISSING_OR_NULL_ORIGIN, INVALID_ORIGIN), and only then
//     ends the session; tokens already issued stay valid until exp.
//  16. The runner's login, POST /api/v1/auth/login: 200 {redirect:false,
//     token, user:{…, accessTier, kind, id}, accessToken, refreshToken}
//     with refreshToken equal to token (the session token) and an
//     accessToken of 15 minutes claiming role "user" whatever the user's
//     role, and tier the user's tier; no cookie; a session row per login.
//     The address is lowercased to find the user, so another letter case
//     of it logs in.
//  17. A wrong password or an unknown address: 401 INVALID_CREDENTIALS,
//     and one row in auth.login_attempts for the address string exactly as
//     sent. 5 failures within 15 minutes lock that string for 30 minutes
//     from the last failure: 429 ACCOUNT_LOCKED with retryAfterSec and a
//     Retry-After header (seconds, rounded up), the right password
//     included; a 429 records nothing; a success deletes the string's
//     rows, and, as the real service's deletion lands late, the first
//     failure within ClearLag after it is not recorded either (six wrong
//     passwords right after a success are all 401,
//     login-race-exchanges.json). The rows do not reference the user: the
//     lock survives deleting the persona and holds for the one re-created
//     at the address. Another letter case of a locked address is another
//     string, and logs in.
//  18. The login's bad bodies: 400 VALIDATION "Invalid JSON body", or zod's
//     "[body.email] Invalid input: expected string, received undefined",
//     the messages of both fields joined with "; ". An address with spaces
//     around it is 400 VALIDATION "Invalid email", before any lookup: no
//     attempt is recorded (login-race-exchanges.json; any address Better
//     Auth's sign-in calls invalid is answered so).
//
// # Inferred, not recorded
//
// Where the recordings are silent the stand-in follows what the real
// service's code does as far as its answers show, and these choices could
// differ from it: the users search matches with an unescaped ILIKE ('%'
// and '_' are wildcards, a backslash escapes) and orders newest first,
// while ?tier= lists in the order of the last write; an email that is not
// a string but truthy gives 500 (body.email.includes is not a function); a
// tickCadence of false or 0 passes the check and is stored as String() of
// it, like archetype; a moduleMix of null fails validation; the detail,
// like the list, does not look at users.kind; parseInt reads page and
// limit (not Number), and an empty page or limit is missing; Better
// Auth's validation errors (missing fields, an invalid address) are 400
// VALIDATION_ERROR with zod-like messages, and an address Better Auth's
// email check refuses makes the upsert of a new user fail with "Sign-up
// failed"; users.deleted_at (soft delete) is never set and never looked
// at. The login does not check the address's form; a body that is not an
// object gives 400 VALIDATION "[body] Invalid input: expected object,
// received …"; an unverified address is refused like a wrong password
// (401, an attempt recorded); the lock holds when the last failure and the
// four before it lie within 15 minutes, until 30 minutes after the last.
//
// # Only in the stand-in
//
// Fault injection (Faults) applies to paths under /api/v1/admin, and to
// the runner's login once SetLoginFaults is on, so that a test can still
// sign people up and in while the admin API fails: error statuses, lost
// answers (written, then 502), connection resets, latency and seeded
// jitter, and 429 with Retry-After from a seeded rate or a rate limiter.
// Passwords are kept as salted PBKDF2-SHA256 hashes. The JWKS publishes
// the server's own key, and tokens are checked against it. Options.Now (a
// Clock in tests) moves token expiry and the lockout's windows without
// waiting. A token's iss is TokenIssuer, where mana-auth's is its
// BASE_URL. POST /api/v1/auth/validate of a token that is not valid
// answers {valid:false, error} (not recorded). Server.ExpiredTokenRequests
// counts the admin requests refused for an expired token.
package manaauthdev
