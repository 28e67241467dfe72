// Package manaauthdev is mana-auth-dev: a local stand-in for mana-auth's
// persona admin API (../shared/spec/admin-api.md), for demos, tests and
// trying a catalog change without the real service. It answers like the
// real service, quirks included, on loopback only, with its data in memory
// (MemoryStore) or in PostgreSQL in the tables of mana-auth's auth schema
// (PostgresStore).
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
//   - GET, HEAD, POST /api/v1/admin/personas
//   - GET, HEAD, DELETE /api/v1/admin/personas/{id}
//   - GET, HEAD /api/v1/admin/users (?search=&page=&limit=, or ?tier= alone)
//
// Authentication compares the whole bearer token with Options.AdminToken
// (the admin) and Options.UserToken (a valid token without the admin role);
// no signature is checked.
//
// # The real service's quirks, reproduced on purpose
//
// Each of these was observed on mana-auth and is in the recorded exchanges;
// a client must cope with them, so the stand-in must not fix them:
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
//     address before the "@" forever.
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
//     {"error":"Sign-up failed","message":"Password too long"}.
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
//     password 401 INVALID_EMAIL_OR_PASSWORD.
//
// # Inferred, not recorded
//
// Where the recordings are silent the stand-in follows what the real
// service's code does as far as its answers show, and these choices could
// differ from it: the users search matches with an unescaped ILIKE ('%'
// and '_' are wildcards, a backslash escapes) and orders newest first,
// while ?tier= lists in the order of the last write; a field of a type the
// route does not check (an email
// that is a number, an archetype that is an object, …) gives 500 Internal
// server error; a moduleMix of null fails validation; the detail, like the
// list, does not look at users.kind; a page or limit that is missing, not a
// number or below 1 falls back to 1 and 20; Better Auth's validation
// errors (missing fields, an invalid address) are 400 VALIDATION_ERROR
// with zod-like messages, and an address Better Auth's email check refuses
// makes the upsert of a new user fail with "Sign-up failed"; users.deleted_at
// (soft delete) is never set and never looked at.
//
// # Only in the stand-in
//
// Fault injection (Faults) applies to paths under /api/v1/admin only, so
// that a test can still sign people up and in while the admin API fails.
// Passwords are kept as salted PBKDF2-SHA256 hashes.
package manaauthdev
