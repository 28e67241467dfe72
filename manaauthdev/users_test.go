package manaauthdev_test

import (
	"net/http"
	"testing"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// The users search's page and limit follow the route's JavaScript and
// Drizzle (see the package documentation): these are the cases the
// recordings do not show.
func TestUsersSearchPagingFollowsParseIntAndDrizzle(t *testing.T) {
	for name, opts := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inst := devtest.Start(t, opts...)
			for _, u := range []string{"one", "two", "three"} {
				inst.SignUpHuman(t, u+"@paging.test", "password-"+u, "Paging "+u)
			}
			cases := []struct {
				query  string
				status int
				users  int
				page   string
				limit  string
			}{
				{"", 200, 3, "1", "20"},
				{"page=2x&limit=1.9", 200, 1, "2", "1"},        // parseInt reads the leading integer
				{"page=&limit=", 200, 3, "1", "20"},            // empty is missing
				{"limit=abc", 200, 3, "1", "null"},             // NaN: no LIMIT at all
				{"limit=-5", 200, 3, "1", "-5"},                // negative: no LIMIT at all
				{"page=-1&limit=0", 200, 0, "-1", "0"},         // offset -0 is not written
				{"page=0&limit=2", 500, 0, "", ""},             // OFFSET -2: PostgreSQL refuses it
				{"page=0x2&limit=1", 200, 1, "2", "1"},         // parseInt reads hexadecimal
				{"limit=99999999999999999999", 500, 0, "", ""}, // bigint out of range
			}
			for _, c := range cases {
				a := mustCall(t, inst, http.MethodGet, manaauthdev.PathUsers+"?search=paging.test&"+c.query, nil)
				if a.status != c.status {
					t.Errorf("?%s: %d %s, want %d", c.query, a.status, a.body, c.status)
					continue
				}
				if c.status != 200 {
					continue
				}
				var out struct {
					Users []any
					Page  any
					Limit any
				}
				decode(t, a.body, &out)
				if len(out.Users) != c.users || jsonOf(out.Page) != c.page || jsonOf(out.Limit) != c.limit {
					t.Errorf("?%s: %s\n  want %d users, page %s, limit %s", c.query, a.body, c.users, c.page, c.limit)
				}
			}
		})
	}
}
