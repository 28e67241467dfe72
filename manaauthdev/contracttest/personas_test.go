package contracttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
)

func TestUpsertCreatesThenUpdatesKeyedByEmail(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.upsert")
		r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p))
		if r.status != 200 || Keys(r.body) != "email,ok,userId" {
			t.Fatalf("create: %s, want 200 {ok,userId,email}", r)
		}
		id, _ := r.object()["userId"].(string)
		if r.object()["ok"] != true || !UserID.MatchString(id) || r.object()["email"] != p["email"] {
			t.Fatalf("create: %s", r.raw)
		}

		d := e.detail(t, id)
		if Keys(d) != "feedbackByModule,persona,recentActions" {
			t.Fatalf("detail keys %s", Keys(d))
		}
		got := d["persona"].(map[string]any)
		if Keys(got) != "archetype,createdAt,email,lastActiveAt,moduleMix,name,systemPrompt,tickCadence,userId" {
			t.Errorf("detail persona keys %s", Keys(got))
		}
		for _, k := range []string{"email", "name", "archetype", "systemPrompt", "tickCadence"} {
			if got[k] != p[k] {
				t.Errorf("detail %s = %v, sent %v", k, got[k], p[k])
			}
		}
		if !reflect.DeepEqual(got["moduleMix"], p["moduleMix"]) {
			t.Errorf("detail moduleMix = %v, sent %v", got["moduleMix"], p["moduleMix"])
		}
		if got["userId"] != id || got["lastActiveAt"] != nil || !Timestamp.MatchString(got["createdAt"].(string)) {
			t.Errorf("detail: %v", got)
		}
		if fmt.Sprint(d["recentActions"]) != "[]" || fmt.Sprint(d["feedbackByModule"]) != "[]" {
			t.Errorf("detail of a new persona: actions %v feedback %v, want none", d["recentActions"], d["feedbackByModule"])
		}

		changed := persona{}
		for k, v := range p {
			changed[k] = v
		}
		changed["name"] = "Renamed"
		changed["archetype"] = "contract-test-v2"
		changed["systemPrompt"] = "An updated prompt."
		changed["moduleMix"] = map[string]any{"notes": 1.0}
		changed["tickCadence"] = "hourly"
		r = e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(changed))
		if r.status != 200 || r.object()["userId"] != id {
			t.Fatalf("update: %s, want 200 with the same userId %s", r, id)
		}
		after := e.detail(t, id)["persona"].(map[string]any)
		if after["name"] != p["name"] {
			t.Errorf("name after the upsert = %v, want it unchanged (%v): the upsert never renames", after["name"], p["name"])
		}
		for _, k := range []string{"archetype", "systemPrompt", "tickCadence"} {
			if after[k] != changed[k] {
				t.Errorf("%s after the upsert = %v, want %v", k, after[k], changed[k])
			}
		}
		if !reflect.DeepEqual(after["moduleMix"], changed["moduleMix"]) {
			t.Errorf("moduleMix after the upsert = %v, want %v", after["moduleMix"], changed["moduleMix"])
		}
		if after["createdAt"] != got["createdAt"] {
			t.Errorf("createdAt changed from %v to %v", got["createdAt"], after["createdAt"])
		}
	})
}

func TestUpsertNeverChangesThePassword(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.password")
		e.upsert(t, p)
		original := p["password"]
		p["password"] = "a-different-password"
		e.upsert(t, p)
		signIn := func(password any) response {
			return e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]any{"email": p["email"], "password": password})
		}
		if r := signIn(original); r.status != 200 {
			t.Errorf("sign-in with the first password: %s, want 200 (personas are verified by the stamp)", r)
		}
		expect(t, "sign-in with the password of the second upsert", signIn("a-different-password"), 401,
			`{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`)
	})
}

func TestUpsertDefaults(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.defaults")
		delete(p, "name")
		delete(p, "tickCadence")
		id := e.upsert(t, p)
		local := strings.Split(p["email"].(string), "@")[0]
		got := e.detail(t, id)["persona"].(map[string]any)
		if got["name"] != local || got["tickCadence"] != "daily" {
			t.Errorf("without name and tickCadence: name %v, tickCadence %v; want %s and daily", got["name"], got["tickCadence"], local)
		}
		p["name"] = "A Name Later"
		e.upsert(t, p)
		if got := e.detail(t, id)["persona"].(map[string]any); got["name"] != local {
			t.Errorf("name after a later upsert with a name = %v, want %s forever", got["name"], local)
		}

		edge := e.newPersona(t, "persona.edge")
		edge["moduleMix"] = []any{}
		edge["tickCadence"] = ""
		id = e.upsert(t, edge)
		got = e.detail(t, id)["persona"].(map[string]any)
		if fmt.Sprint(got["moduleMix"]) != "[]" || got["tickCadence"] != "" {
			t.Errorf("moduleMix [] and tickCadence \"\": stored %v and %q", got["moduleMix"], got["tickCadence"])
		}
	})
}

// The route passes body.name ?? email.split('@')[0] to the sign-up: ??
// replaces only a missing name or null, so an empty name is kept.
func TestUpsertKeepsAnEmptyNameAndDefaultsANullOne(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			name string
			sent any
			want func(local string) string
		}{
			{"empty name", "", func(string) string { return "" }},
			{"null name", nil, func(local string) string { return local }},
		} {
			p := e.newPersona(t, "persona.name")
			p["name"] = c.sent
			id := e.upsert(t, p)
			local := strings.Split(p["email"].(string), "@")[0]
			if got := e.detail(t, id)["persona"].(map[string]any)["name"]; got != c.want(local) {
				t.Errorf("%s: stored name %q, want %q", c.name, got, c.want(local))
			}
		}
	})
}

// A field of another type that passes the route's truthiness checks is
// stored as JavaScript's String() of it, with 200.
func TestUpsertStoresStringOfNonStringFields(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			archetype, prompt any
			wantArch, wantPr  string
		}{
			{42, map[string]any{"a": 1}, "42", "[object Object]"},
			{true, []any{"one", "two"}, "true", "one,two"},
			{[]any{}, 4.50, "", "4.5"},
		} {
			p := e.newPersona(t, "persona.types")
			p["archetype"], p["systemPrompt"] = c.archetype, c.prompt
			r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p))
			if r.status != 200 {
				t.Errorf("archetype %v, systemPrompt %v: %s, want 200", c.archetype, c.prompt, r)
				continue
			}
			got := e.detail(t, r.object()["userId"].(string))["persona"].(map[string]any)
			if got["archetype"] != c.wantArch || got["systemPrompt"] != c.wantPr {
				t.Errorf("archetype %v, systemPrompt %v: stored %q and %q, want %q and %q",
					c.archetype, c.prompt, got["archetype"], got["systemPrompt"], c.wantArch, c.wantPr)
			}
		}
	})
}

func TestModuleMixComesBackInJSONBKeyOrder(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.order")
		p["moduleMix"] = json.RawMessage(`{"todo":0.3,"journal":0.3,"notes":0.2,"mood":0.2}`)
		id := e.upsert(t, p)
		r := e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"/"+id, nil)
		if want := `"moduleMix":{"mood":0.2,"todo":0.3,"notes":0.2,"journal":0.3}`; !strings.Contains(string(r.raw), want) {
			t.Errorf("detail %s\n  want it to contain %s", r.raw, want)
		}
	})
}

func TestUpsertValidation(t *testing.T) {
	const all5 = `{"error":"ValidationError","details":["email required","password ≥ 8 chars required","archetype required","systemPrompt required","moduleMix object required"]}`
	forEachTarget(t, func(t *testing.T, e *env) {
		valid := func(changes map[string]any) map[string]any {
			p := map[string]any{
				"email": "persona.never-created@mana.test", "name": "Never", "password": "long-enough-password",
				"archetype": "a", "systemPrompt": "p", "moduleMix": map[string]any{"todo": 1}, "tickCadence": "daily",
			}
			for k, v := range changes {
				if v == nil {
					delete(p, k)
				} else {
					p[k] = v
				}
			}
			return p
		}
		cases := []struct {
			name   string
			body   any
			status int
			want   string
		}{
			{"empty object", map[string]any{}, 400, all5},
			{"email and password only", map[string]any{"email": "persona.x@mana.test", "password": "long-enough-password"}, 400,
				`{"error":"ValidationError","details":["archetype required","systemPrompt required","moduleMix object required"]}`},
			{"short password", valid(map[string]any{"password": "12345"}), 400, `{"error":"ValidationError","details":["password ≥ 8 chars required"]}`},
			{"unknown cadence", valid(map[string]any{"tickCadence": "monthly"}), 400, `{"error":"ValidationError","details":["tickCadence must be one of daily, weekdays, hourly"]}`},
			{"email without @", valid(map[string]any{"email": "persona.anna.mana.test"}), 400, `{"error":"ValidationError","details":["email required"]}`},
			{"moduleMix a string", valid(map[string]any{"moduleMix": "todo"}), 400, `{"error":"ValidationError","details":["moduleMix object required"]}`},
			{"several at once, in the fixed order", valid(map[string]any{"password": "short", "tickCadence": "weekly", "systemPrompt": nil}), 400,
				`{"error":"ValidationError","details":["password ≥ 8 chars required","systemPrompt required","tickCadence must be one of daily, weekdays, hourly"]}`},
			{"8 non-ASCII characters are long enough", valid(map[string]any{"password": "ääääääää", "archetype": nil}), 400,
				`{"error":"ValidationError","details":["archetype required"]}`},
			{"length counts UTF-16 units", valid(map[string]any{"password": "😀😀😀😀", "archetype": nil}), 400,
				`{"error":"ValidationError","details":["archetype required"]}`},
			{"not JSON", "this is not json", 400, `{"error":"Invalid JSON body"}`},
			{"empty body", "", 400, `{"error":"Invalid JSON body"}`},
			{"JSON null", "null", 500, internalError},
			{"JSON array", "[]", 400, all5},
		}
		for _, c := range cases {
			r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, c.body)
			expect(t, c.name, r, c.status, c.want)
		}
		for _, p := range e.list(t) {
			if p["email"] == "persona.never-created@mana.test" || p["email"] == "persona.x@mana.test" {
				t.Errorf("an invalid upsert created %v", p["email"])
			}
		}
	})
}

func TestUpsertIgnoresContentType(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.plain")
		raw, _ := json.Marshal(p)
		r := e.request(t, http.MethodPost, manaauthdev.PathPersonas, bearer(e.admin), string(raw), "Content-Type", "text/plain")
		if r.status != 200 {
			t.Errorf("JSON sent as text/plain: %s, want 200", r)
		}
	})
}

func TestEmailLetterCase(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.case")
		lower := p["email"].(string)
		mixed := "Persona.Case" + strings.TrimPrefix(lower, "persona.case")
		p["email"] = mixed
		p["password"] = passwordFor(mixed)
		r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p))
		if r.status != 200 || r.object()["email"] != mixed {
			t.Fatalf("new mixed-case address: %s, want 200 echoing %s", r, mixed)
		}
		id := r.object()["userId"].(string)
		if got := e.detail(t, id)["persona"].(map[string]any)["email"]; got != lower {
			t.Errorf("stored address %v, want it lowercased: %s", got, lower)
		}
		expect(t, "the same mixed-case address again", e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p)), 500, internalError)
		p["email"] = lower
		r = e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p))
		if r.status != 200 || r.object()["userId"] != id {
			t.Errorf("the lowercased address: %s, want 200 with %s", r, id)
		}
		p["email"] = strings.ToUpper(lower[:1]) + lower[1:]
		expect(t, "an existing persona's address in other case", e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p)), 500, internalError)

		// The password was set from the address as sent; a runner deriving
		// it from the stored lowercase address is locked out.
		signIn := func(password string) int {
			return e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]any{"email": lower, "password": password}).status
		}
		if got := signIn(passwordFor(mixed)); got != 200 {
			t.Errorf("sign-in with the password sent at creation: %d, want 200", got)
		}
		if got := signIn(passwordFor(lower)); got != 401 {
			t.Errorf("sign-in with a password derived from the stored address: %d, want 401", got)
		}
	})
}

func TestPasswordOver128(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		p := e.newPersona(t, "persona.longpw")
		p["password"] = strings.Repeat("p", 129)
		expect(t, "a new user with a 129-character password", e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p)), 500,
			`{"error":"Sign-up failed","message":"Password too long"}`)
		for _, l := range e.list(t) {
			if l["email"] == p["email"] {
				t.Errorf("the failed sign-up left a persona behind")
			}
		}
		p["password"] = passwordFor(p["email"].(string))
		id := e.upsert(t, p)
		p["password"] = strings.Repeat("p", 129)
		r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p))
		if r.status != 200 || r.object()["userId"] != id {
			t.Errorf("an existing user with a 129-character password: %s, want 200 (the password is not used)", r)
		}
	})
}

func TestUpsertTurnsAPersonIntoAPersona(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t) // a person's sign-up could not be undone on a shared server
		ctx := context.Background()
		email, password := "victim@example.test", "victim-password"
		human := e.inst.SignUpHuman(t, email, password, "Victim Human")
		r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any{
			"email": email, "name": "Should Not Matter", "password": "another-password",
			"archetype": "hijack", "systemPrompt": "Persona stamped onto a human account", "moduleMix": map[string]any{"todo": 1},
		})
		if r.status != 200 || r.object()["userId"] != human {
			t.Fatalf("POST with a person's address: %s, want 200 with the person's id %s", r, human)
		}
		u, err := e.store.UserByID(ctx, human)
		if err != nil {
			t.Fatal(err)
		}
		if u.Kind != manaauthdev.KindPersona || u.AccessTier != manaauthdev.TierFounder || !u.EmailVerified || u.Name != "Victim Human" {
			t.Errorf("user after the upsert: kind %s tier %s verified %v name %q; want persona, founder, true, the person's name", u.Kind, u.AccessTier, u.EmailVerified, u.Name)
		}
		if got := e.detail(t, human)["persona"].(map[string]any)["name"]; got != "Victim Human" {
			t.Errorf("detail name %v", got)
		}
		if r := e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]any{"email": email, "password": password}); r.status != 200 {
			t.Errorf("the person's own password after the stamp: %s, want 200 (now verified)", r)
		}
		r = e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+human, nil)
		expect(t, "DELETE of the former person", r, 200, `{"ok":true,"deleted":"`+human+`"}`)
		expect(t, "the person's sign-in after the delete", e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]any{"email": email, "password": password}),
			401, `{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`)
	})
}

func TestListShapeOrderAndQuery(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		if e.fresh {
			expect(t, "empty list", e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas, nil), 200, `{"personas":[]}`)
		}
		var ids []string
		for _, name := range []string{"first", "second", "third"} {
			ids = append(ids, e.upsert(t, e.newPersona(t, "persona.list-"+name)))
		}
		var order []string
		for _, p := range e.list(t) {
			if Keys(p) != "actions7d,archetype,createdAt,email,lastActiveAt,name,tickCadence,userId" {
				t.Errorf("list entry keys %s: no systemPrompt, moduleMix or kind expected", Keys(p))
			}
			for _, id := range ids {
				if p["userId"] == id {
					order = append(order, id)
				}
			}
		}
		if want := []string{ids[2], ids[1], ids[0]}; !reflect.DeepEqual(order, want) {
			t.Errorf("list order %v, want newest first %v", order, want)
		}
		plain := e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas, nil)
		queried := e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"?limit=1&archetype=ceo-busy&page=2", nil)
		if string(plain.raw) != string(queried.raw) {
			t.Errorf("query parameters changed the list:\n  %s\n  %s", plain.raw, queried.raw)
		}
	})
}

func TestListCountsActionsOfTheLastSevenDays(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		ctx := context.Background()
		id := e.upsert(t, e.newPersona(t, "persona.actions"))
		now := time.Now()
		for i, age := range []time.Duration{time.Hour, 6*24*time.Hour + 23*time.Hour, 8 * 24 * time.Hour, 30 * 24 * time.Hour} {
			a := manaauthdev.Action{ID: fmt.Sprintf("act-%d", i), PersonaID: id, TickID: "tick", ToolName: "todo.create", Result: "ok", CreatedAt: now.Add(-age)}
			if err := e.store.AddAction(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		last := now.Add(-50 * time.Minute)
		if err := e.store.SetLastActiveAt(ctx, id, &last); err != nil {
			t.Fatal(err)
		}
		for _, p := range e.list(t) {
			if p["userId"] == id {
				if p["actions7d"] != 2.0 {
					t.Errorf("actions7d = %v, want 2 of 4", p["actions7d"])
				}
				if p["lastActiveAt"] != last.UTC().Format("2006-01-02T15:04:05.000Z") {
					t.Errorf("lastActiveAt = %v, want %v", p["lastActiveAt"], last)
				}
			}
		}
	})
}

func TestUpsertKeepsLastActiveAt(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		p := e.newPersona(t, "persona.active")
		id := e.upsert(t, p)
		last := time.Now().Add(-time.Hour)
		if err := e.store.SetLastActiveAt(context.Background(), id, &last); err != nil {
			t.Fatal(err)
		}
		p["archetype"] = "changed"
		e.upsert(t, p)
		got := e.detail(t, id)["persona"].(map[string]any)
		if got["lastActiveAt"] != last.UTC().Format("2006-01-02T15:04:05.000Z") || got["archetype"] != "changed" {
			t.Errorf("after an upsert: lastActiveAt %v archetype %v; want %v kept and the archetype changed", got["lastActiveAt"], got["archetype"], last)
		}
	})
}

func TestPersonaWhoseUserIsHumanAgainIsListedButNotDeleted(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		id := e.upsert(t, e.newPersona(t, "persona.reverted"))
		if err := e.store.SetUserKind(context.Background(), id, manaauthdev.KindHuman); err != nil {
			t.Fatal(err)
		}
		listed := false
		for _, p := range e.list(t) {
			listed = listed || p["userId"] == id
		}
		if !listed {
			t.Errorf("a persona row whose user is human again is not listed; the list ignores users.kind")
		}
		expect(t, "DELETE of it", e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+id, nil), 400,
			`{"error":"Refusing to delete non-persona user via this endpoint","hint":"Use /api/v1/admin/users/:id/data instead"}`)
	})
}

// A persona row deleted by hand leaves its user, still of kind persona:
// not listed, its detail 404, and the users search still finds the user.
// A new upsert of the address makes it a persona again with the same id.
func TestPersonaRowDeletedByHandKeepsItsUser(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		p := e.newPersona(t, "persona.rowless")
		id := e.upsert(t, p)
		if err := e.store.DeletePersonaRow(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		for _, l := range e.list(t) {
			if l["userId"] == id {
				t.Errorf("a user whose persona row was deleted is still listed")
			}
		}
		expect(t, "detail of it", e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"/"+id, nil), 404, notFoundJSON)
		u, err := e.store.UserByID(context.Background(), id)
		if err != nil || u.Kind != manaauthdev.KindPersona {
			t.Errorf("the user: %+v, %v; want it kept, of kind persona", u, err)
		}
		if again := e.upsert(t, p); again != id {
			t.Errorf("the upsert restored the persona under id %s, want %s", again, id)
		}
	})
}

func TestDetailRecentActionsAndFeedback(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		expect(t, "detail of an unknown id", e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"/does-not-exist-123", nil), 404, notFoundJSON)
		e.needsBackDoor(t)
		ctx := context.Background()
		id := e.upsert(t, e.newPersona(t, "persona.detail"))
		now := time.Now()
		for i := range 25 { // one a day: the 20 newest reach back 19 days
			a := manaauthdev.Action{ID: fmt.Sprintf("act-%02d", i), PersonaID: id, TickID: "tick", ToolName: "notes.create", Result: "ok", CreatedAt: now.Add(-time.Duration(i) * 24 * time.Hour)}
			if err := e.store.AddAction(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		for i, f := range []struct {
			module string
			rating int
		}{{"todo", 4}, {"journal", 2}, {"todo", 5}} {
			fb := manaauthdev.Feedback{ID: fmt.Sprintf("fb-%d", i), PersonaID: id, TickID: "tick", Module: f.module, Rating: f.rating, CreatedAt: now}
			if err := e.store.AddFeedback(ctx, fb); err != nil {
				t.Fatal(err)
			}
		}
		d := e.detail(t, id)
		actions := d["recentActions"].([]any)
		if len(actions) != 20 {
			t.Fatalf("recentActions has %d, want the 20 newest", len(actions))
		}
		for i, a := range actions {
			a := a.(map[string]any)
			if a["id"] != fmt.Sprintf("act-%02d", i) {
				t.Errorf("recentActions[%d] = %v, want act-%02d (newest first)", i, a["id"], i)
			}
			if Keys(a) != "createdAt,errorMessage,id,inputHash,latencyMs,personaId,result,tickId,toolName" {
				t.Errorf("action keys %s", Keys(a))
			}
		}
		feedback := map[string]any{}
		for _, f := range d["feedbackByModule"].([]any) {
			f := f.(map[string]any)
			feedback[f["module"].(string)] = f["avgRating"]
		}
		if !reflect.DeepEqual(feedback, map[string]any{"todo": 2.0, "journal": 1.0}) {
			t.Errorf("feedbackByModule %v, want the counts todo 2, journal 1 (avgRating is a count)", feedback)
		}
	})
}

func TestDetailOfAPersonNotAPersonaIsNotFound(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		human := e.inst.SignUpHuman(t, "human@example.test", "human-password", "Human Tester")
		expect(t, "detail of a person", e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"/"+human, nil), 404, notFoundJSON)
	})
}

func TestEditBehindTheAPIShowsInTheDetail(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		id := e.upsert(t, e.newPersona(t, "persona.drift"))
		name, prompt, cadence := "Edited In SQL", "edited prompt", "weekdays"
		err := e.store.EditPersona(context.Background(), id, manaauthdev.PersonaEdit{
			Name: &name, SystemPrompt: &prompt, TickCadence: &cadence, ModuleMix: json.RawMessage(`{"notes": 1}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		got := e.detail(t, id)["persona"].(map[string]any)
		if got["name"] != name || got["systemPrompt"] != prompt || got["tickCadence"] != cadence || fmt.Sprint(got["moduleMix"]) != "map[notes:1]" || got["archetype"] != "contract-test" {
			t.Errorf("detail after editing the rows: %v", got)
		}
	})
}

func TestDelete(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		id := e.upsert(t, e.newPersona(t, "persona.delete"))
		expect(t, "DELETE", e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+id, nil), 200, `{"ok":true,"deleted":"`+id+`"}`)
		expect(t, "DELETE again", e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+id, nil), 404, notFoundJSON)
		expect(t, "DELETE of an unknown id", e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/nope-404", nil), 404, notFoundJSON)
		expect(t, "detail after DELETE", e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"/"+id, nil), 404, notFoundJSON)
		e.needsBackDoor(t)
		human := e.inst.SignUpHuman(t, "human@example.test", "human-password", "Human Tester")
		expect(t, "DELETE of a person", e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+human, nil), 400,
			`{"error":"Refusing to delete non-persona user via this endpoint","hint":"Use /api/v1/admin/users/:id/data instead"}`)
	})
}

func TestDeleteCascades(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		e.needsBackDoor(t)
		ctx := context.Background()
		p := e.newPersona(t, "persona.cascade")
		id := e.upsert(t, p)
		e.inst.SignIn(t, p["email"].(string), p["password"].(string)) // a session
		now := time.Now()
		if err := e.store.AddAction(ctx, manaauthdev.Action{ID: "act-c", PersonaID: id, TickID: "t", ToolName: "todo.create", Result: "ok", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.AddFeedback(ctx, manaauthdev.Feedback{ID: "fb-c", PersonaID: id, TickID: "t", Module: "todo", Rating: 3, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		before, err := e.store.RowCounts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if before != (manaauthdev.RowCounts{Users: 1, Accounts: 1, Sessions: 1, Personas: 1, Actions: 1, Feedback: 1}) {
			t.Fatalf("rows before the delete: %+v", before)
		}
		expect(t, "DELETE", e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+id, nil), 200, `{"ok":true,"deleted":"`+id+`"}`)
		after, err := e.store.RowCounts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if after != (manaauthdev.RowCounts{}) {
			t.Errorf("rows left after the delete: %+v; want the user, account, session, persona, actions and feedback gone", after)
		}
	})
}
