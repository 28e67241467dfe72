// Package contracttest holds the contract tests that hold mana-auth-dev to
// mana-auth's recorded behaviour (testdata/contract), and the JSON
// comparison they use. The tests run against mana-auth-dev in memory, in
// PostgreSQL, and against any server named by MANA_AUTH_URL with
// MANA_ADMIN_JWT and MANA_USER_JWT (then only the checks that need no
// access to the database behind the API).
package contracttest
