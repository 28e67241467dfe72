package contracttest

import (
	"context"
	"net/http"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

const userKeys = "accessTier,createdAt,email,emailVerified,id,image,kind,name,twoFactorEnabled,updatedAt"

func TestSignUpAndSignIn(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t) // a person's sign-up could not be undone on a shared server, and verifying needs the database
		signUp := func(email string) response {
			return e.request(t, http.MethodPost, manaauthdev.PathSignUp, "", map[string]any{"email": email, "password": "person-password", "name": "A Person"})
		}
		signIn := func(email, password string) response {
			return e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]any{"email": email, "password": password})
		}

		r := signUp("A.Person@Example.test")
		if r.status != 200 || Keys(r.body) != "token,user" || r.object()["token"] != nil {
			t.Fatalf("sign-up: %s, want 200 {token:null,user}", r)
		}
		u := r.object()["user"].(map[string]any)
		if Keys(u) != userKeys {
			t.Errorf("sign-up user keys %s, want %s", Keys(u), userKeys)
		}
		id := u["id"].(string)
		if u["email"] != "a.person@example.test" || u["emailVerified"] != false || u["kind"] != "human" || u["accessTier"] != "public" || !UserID.MatchString(id) {
			t.Errorf("sign-up user %v: want the address lowercased, unverified, human, public", u)
		}

		dup := signUp("A.PERSON@example.test")
		if dup.status != 200 || dup.object()["user"].(map[string]any)["id"] == id {
			t.Errorf("sign-up of an existing address in other case: %s, want 200 with a made-up id", dup)
		}
		counts, err := e.store.RowCounts(context.Background(), dup.object()["user"].(map[string]any)["id"].(string))
		if err != nil || counts != (manaauthdev.RowCounts{}) {
			t.Errorf("the duplicate sign-up stored something: %+v %v", counts, err)
		}

		expect(t, "sign-in before verification", signIn("a.person@example.test", "person-password"), 403, `{"message":"Email not verified","code":"EMAIL_NOT_VERIFIED"}`)
		wrong := `{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`
		expect(t, "sign-in with a wrong password", signIn("a.person@example.test", "not-the-password"), 401, wrong)
		expect(t, "sign-in of an unknown address", signIn("nobody@example.test", "person-password"), 401, wrong)

		e.inst.VerifyEmail(t, "a.person@example.test")
		r = signIn("A.Person@example.test", "person-password")
		if r.status != 200 || Keys(r.body) != "redirect,token,user" || r.header.Get("Set-Cookie") == "" {
			t.Fatalf("sign-in after verification: %s (set-cookie %q), want 200 {redirect,token,user} and a cookie", r, r.header.Get("Set-Cookie"))
		}
		if u := r.object()["user"].(map[string]any); u["id"] != id || u["emailVerified"] != true || Keys(u) != userKeys {
			t.Errorf("signed-in user %v", u)
		}
		if counts, err := e.store.RowCounts(context.Background(), id); err != nil || counts.Sessions != 1 {
			t.Errorf("sessions after a sign-in: %+v %v, want 1", counts, err)
		}
	})
}
