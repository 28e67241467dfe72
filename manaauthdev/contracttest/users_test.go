package contracttest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

func usersPath(query string) string { return manaauthdev.PathUsers + "?" + query }

func TestUsersSearch(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		expect(t, "search without a match", e.adminDo(t, http.MethodGet, usersPath("search=nobody-here-"+manaauthdev.NewID()), nil), 200,
			`{"users":[],"total":0,"page":1,"limit":20}`)
		expect(t, "search with a non-admin token", e.request(t, http.MethodGet, usersPath("search=x"), bearer(e.user), nil), 403, adminRequired)

		// A persona that never signed in is found, without lastActiveAt.
		p := e.newPersona(t, "persona.search")
		id := e.upsert(t, p)
		r := e.adminDo(t, http.MethodGet, usersPath("search="+url.QueryEscape(p["email"].(string))), nil)
		if r.status != 200 || Keys(r.body) != "limit,page,total,users" || r.object()["total"] != 1.0 {
			t.Fatalf("search for a user who never signed in: %s", r)
		}
		u := r.object()["users"].([]any)[0].(map[string]any)
		if Keys(u) != "createdAt,email,id,name,role" || u["id"] != id || u["role"] != "user" || !Timestamp.MatchString(u["createdAt"].(string)) {
			t.Errorf("user entry %v: want id, email, name, role, createdAt and no kind or lastActiveAt", u)
		}

		// Once that user has signed in, every page holding them fails.
		if r := e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]any{"email": p["email"], "password": p["password"]}); r.status != 200 {
			t.Fatalf("persona sign-in: %s", r)
		}
		expect(t, "search for a user who has signed in", e.adminDo(t, http.MethodGet, usersPath("search="+url.QueryEscape(p["email"].(string))), nil), 500, internalError)
	})
}

func TestUsersSearchPagesAndMatching(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t) // people's sign-ups could not be undone on a shared server
		e.needsFresh(t)
		e.inst.SignedInHuman(t, "active.member@example.test", "Active Member") // oldest
		e.inst.SignUpHuman(t, "quiet.one@example.test", "password-1", "Quiet One")
		e.inst.SignUpHuman(t, "other@example.test", "password-2", "Quiet Two") // newest

		r := e.adminDo(t, http.MethodGet, usersPath("search=QUIET"), nil)
		if r.status != 200 || r.object()["total"] != 2.0 {
			t.Errorf("case-insensitive search of names: %s, want the two quiet users", r)
		}
		r = e.adminDo(t, http.MethodGet, usersPath("search=e&page=2&limit=1"), nil)
		if r.status != 200 || r.object()["page"] != 2.0 || r.object()["limit"] != 1.0 || r.object()["total"] != 3.0 || len(r.object()["users"].([]any)) != 1 {
			t.Errorf("page 2 of 1: %s, want one user of 3, page 2, limit 1", r)
		}
		expect(t, "the page holding the user who signed in", e.adminDo(t, http.MethodGet, usersPath("search=e&page=3&limit=1"), nil), 500, internalError)
		expect(t, "every user on one page", e.adminDo(t, http.MethodGet, manaauthdev.PathUsers, nil), 500, internalError)
		expect(t, "past the last page", e.adminDo(t, http.MethodGet, usersPath("search=quiet&page=2&limit=5"), nil), 200,
			`{"users":[],"total":2,"page":2,"limit":5}`)
	})
}

func TestUsersByTierIsTheLegacyShape(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		id := e.upsert(t, e.newPersona(t, "persona.tier"))
		r := e.adminDo(t, http.MethodGet, usersPath("tier=founder"), nil)
		if r.status != 200 || Keys(r.body) != "count,users" {
			t.Fatalf("?tier=founder: %s, want {users, count}", r)
		}
		users := r.object()["users"].([]any)
		if r.object()["count"] != float64(len(users)) {
			t.Errorf("count %v for %d users", r.object()["count"], len(users))
		}
		found := false
		for _, u := range users {
			u := u.(map[string]any)
			if Keys(u) != "accessTier,createdAt,email,id,name,role" || u["accessTier"] != "founder" {
				t.Errorf("legacy user entry %v", u)
			}
			found = found || u["id"] == id
		}
		if !found {
			t.Errorf("the persona (a founder) is not in ?tier=founder: %s", r.raw)
		}
	})
}

// The route reads parseInt(page || '1') and parseInt(limit || '20'): a page
// that is not a number is NaN, printed null, and LIMIT 0 finds no users,
// so no signed-in user can make the page fail.
func TestUsersPageNotANumberAndLimitZero(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		e.needsFresh(t)
		e.inst.SignedInHuman(t, "active.paging@example.test", "Active Paging")
		e.inst.SignUpHuman(t, "quiet.paging@example.test", "password-1", "Quiet Paging")
		expect(t, "page=abc&limit=0", e.adminDo(t, http.MethodGet, usersPath("page=abc&limit=0"), nil), 200,
			`{"users":[],"total":2,"page":null,"limit":0}`)
		expect(t, "search=quiet&page=abc&limit=0", e.adminDo(t, http.MethodGet, usersPath("search=quiet&page=abc&limit=0"), nil), 200,
			`{"users":[],"total":1,"page":null,"limit":0}`)
	})
}
