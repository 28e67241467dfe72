package authdb

import (
	"context"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

// world is mana-auth-dev on a fresh PostgreSQL database, with the admin API
// client and the database reader both pointed at it.
type world struct {
	dsn    string
	store  *manaauthdev.PostgresStore
	client *adminapi.Client
	reader *Reader
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dsn := devtest.FreshDatabase(t)
	store, err := manaauthdev.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	admin := devtest.Token(map[string]any{"sub": "admin", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()})
	srv := httptest.NewServer(manaauthdev.New(manaauthdev.Options{AdminToken: admin, Store: store}))
	t.Cleanup(srv.Close)
	client, err := adminapi.New(adminapi.Options{BaseURL: srv.URL, Token: admin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	reader, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	return &world{dsn: dsn, store: store, client: client, reader: reader}
}

func (w *world) upsert(t *testing.T, email string, mix map[string]float64) string {
	t.Helper()
	id, err := w.client.Upsert(context.Background(), adminapi.UpsertRequest{
		Email: email, Name: strings.Split(email, "@")[0], Password: "derived-password-1234",
		Archetype: "night-owl", SystemPrompt: "Du bist eine Persona für den Test: " + email,
		ModuleMix: mix, TickCadence: "weekdays",
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestReaderAgreesWithTheAdminAPI: one query gives what 1 + N requests give.
func TestReaderAgreesWithTheAdminAPI(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var ids []string
	for i, name := range []string{"zoe", "anna", "mia", "ben", "Persona.upper"} {
		ids = append(ids, w.upsert(t, strings.ToLower(name)+"@mana.test", map[string]float64{"todo": 0.25 * float64(i), "journal": 1 - 0.25*float64(i)}))
	}
	now := time.Now()
	for i := 0; i < 25; i++ {
		at := now.Add(-time.Duration(i) * 12 * time.Hour) // some inside 7 days, some older
		if err := w.store.AddAction(ctx, manaauthdev.Action{ID: fmt.Sprintf("a%d", i), PersonaID: ids[1], TickID: "t", ToolName: "todo.create", Result: "ok", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.store.AddFeedback(ctx, manaauthdev.Feedback{ID: "f1", PersonaID: ids[1], TickID: "t", Module: "todo", Rating: 4, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	last := now.Add(-time.Hour).Truncate(time.Millisecond)
	if err := w.store.SetLastActiveAt(ctx, ids[1], &last); err != nil {
		t.Fatal(err)
	}

	viaAPI, err := w.client.Personas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	viaDB, err := w.reader.Personas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(viaDB) != 5 {
		t.Fatalf("read %d personas from the database, want 5", len(viaDB))
	}
	for i := range viaDB {
		viaDB[i].CreatedAt = viaDB[i].CreatedAt.Truncate(time.Millisecond) // the API prints milliseconds
	}
	if !reflect.DeepEqual(viaAPI, viaDB) {
		t.Errorf("database reader and admin API disagree:\napi %+v\ndb  %+v", viaAPI, viaDB)
	}
	anna := viaDB[0]
	if anna.Values.Email != "anna@mana.test" || anna.Actions7d != 14 || anna.Actions != 20 || anna.Feedback != 1 {
		t.Errorf("anna = %+v, want 14 actions in 7 days, 20 recent, 1 rating", anna)
	}
}

func TestReaderLeavesOutPersonaRowsOfOtherUsers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.upsert(t, "persona.back@mana.test", map[string]float64{"todo": 1})
	w.upsert(t, "persona.kept@mana.test", map[string]float64{"todo": 1})
	if err := w.store.SetUserKind(ctx, id, "human"); err != nil {
		t.Fatal(err)
	}
	live, err := w.reader.Personas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].Values.Email != "persona.kept@mana.test" {
		t.Errorf("personas = %+v, want only persona.kept", live)
	}
	owner, err := ownerOf(ctx, w.reader, "persona.back@mana.test")
	if err != nil || owner != state.AddressTaken {
		t.Errorf("owner of a persona row whose user is human = %v, %v; want taken", owner, err)
	}
}

func TestAddressOwner(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.upsert(t, "persona.anna@mana.test", map[string]float64{"todo": 1})
	if err := w.store.CreateUser(ctx, manaauthdev.User{ID: manaauthdev.NewID(), Name: "Person", Email: "person@example.test", Role: manaauthdev.RoleUser, AccessTier: manaauthdev.TierPublic, Kind: manaauthdev.KindHuman, CreatedAt: time.Now(), UpdatedAt: time.Now()}, "salted-hash"); err != nil {
		t.Fatal(err)
	}
	want := map[string]state.OwnerKind{
		"persona.anna@mana.test": state.AddressPersona,
		"Persona.Anna@mana.test": state.AddressPersona,
		"person@example.test":    state.AddressTaken,
		"PERSON@example.test":    state.AddressTaken,
		"nobody@mana.test":       state.AddressFree,
	}
	// Asked all at once, as a plan asks for every address it would create.
	var wg sync.WaitGroup
	for email, want := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := ownerOf(ctx, w.reader, email)
			if err != nil || got != want {
				t.Errorf("OwnerKind(%s) = %v, %v; want %v", email, got, err, want)
			}
		}()
	}
	wg.Wait()
}

func TestOpenErrorsSayWhatToDo(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:hunter2@127.0.0.1:1/nodb?sslmode=disable&connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "PERSONACTL_LIVE_DSN") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want one naming PERSONACTL_LIVE_DSN without the password", err)
	}
	_, err = Open(context.Background(), "postgres://u:hunter2@host:notaport/db")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want a parse error without the password", err)
	}
}

func TestAddressHoldersAnswersEveryAddressInOneQuery(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.upsert(t, "persona.anna@mana.test", map[string]float64{"todo": 1})
	w.upsert(t, "twin@mana.test", map[string]float64{"todo": 1})
	ids := map[string]string{}
	created := time.Date(2026, 4, 22, 10, 11, 12, 345000000, time.UTC)
	for _, u := range []struct{ email, kind string }{{"person@example.test", manaauthdev.KindHuman}, {"Twin@mana.test", manaauthdev.KindHuman}, {"bot@mana.test", manaauthdev.KindSystem}, {"active@example.test", manaauthdev.KindHuman}} {
		ids[u.email] = manaauthdev.NewID()
		if err := w.store.CreateUser(ctx, manaauthdev.User{ID: ids[u.email], Name: "U", Email: u.email, Role: manaauthdev.RoleUser, AccessTier: manaauthdev.TierPublic, Kind: u.kind, CreatedAt: created, UpdatedAt: created}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.store.CreateSession(ctx, manaauthdev.Session{ID: manaauthdev.NewID(), Token: manaauthdev.NewID(), UserID: ids["active@example.test"], ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	want := map[string]state.OwnerKind{
		"persona.anna@mana.test": state.AddressPersona,
		"Persona.Anna@mana.test": state.AddressPersona,
		"person@example.test":    state.AddressTaken,
		"PERSON@example.test":    state.AddressTaken,
		"bot@mana.test":          state.AddressTaken,
		"active@example.test":    state.AddressTaken,
		"twin@mana.test":         state.AddressTaken, // a person holds it in other letter case
		"nobody@mana.test":       state.AddressFree,
	}
	var emails []string
	for e := range want {
		emails = append(emails, e, e) // duplicates are answered once each
	}
	got, err := w.reader.AddressOwners(ctx, emails)
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]state.OwnerKind{}
	for e, h := range got {
		owners[e] = h.Kind
	}
	if !reflect.DeepEqual(owners, want) {
		t.Errorf("AddressOwners = %v\nwant %v", owners, want)
	}
	for e, owner := range want {
		if one, err := ownerOf(ctx, w.reader, e); err != nil || one != owner {
			t.Errorf("OwnerKind(%s) = %v, %v; want %v", e, one, err, owner)
		}
	}
	// Who holds it, since when, and whether they have signed in: what
	// tells a user an interrupted create left from a person.
	for email, h := range map[string]state.Owner{
		"PERSON@example.test": {Kind: state.AddressTaken, UserID: ids["person@example.test"], CreatedAt: created, NeverSignedIn: true},
		"active@example.test": {Kind: state.AddressTaken, UserID: ids["active@example.test"], CreatedAt: created},
		"twin@mana.test":      {Kind: state.AddressTaken}, // two users: neither is named
	} {
		if !reflect.DeepEqual(got[email], h) {
			t.Errorf("owner of %s = %+v, want %+v", email, got[email], h)
		}
	}
	if got, err := w.reader.AddressOwners(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no addresses: %v, %v", got, err)
	}
}

// TestUnreadableRowIsNamedEscaped: a persona row whose module_mix cannot be
// read is named in the error by its address, and both the address and the
// value are the database's: escape sequences and line breaks in them show
// escaped.
func TestUnreadableRowIsNamedEscaped(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.upsert(t, "persona.bad@mana.test", map[string]float64{"todo": 1})
	if _, err := w.reader.conn.Exec(ctx, `UPDATE auth.users SET email = $2 WHERE id = $1`, id, "persona.bad\x1b[2J\n## heading@mana.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reader.conn.Exec(ctx, `UPDATE auth.personas SET module_mix = $2::jsonb WHERE user_id = $1`, id, `{"todo": "\u001b[31mApply complete!\n"}`); err != nil {
		t.Fatal(err)
	}
	_, err := w.reader.Personas(ctx)
	if err == nil {
		t.Fatal("a module_mix of strings was read")
	}
	text := err.Error()
	if strings.ContainsAny(text, "\x1b\n") || !strings.Contains(text, `persona.bad\x1b[2J\n## heading@mana.test`) || !strings.Contains(text, `\x1b[31mApply complete!\n`) {
		t.Errorf("error %q: want the address and the value escaped, on one line", text)
	}
}

// TestDebugLogHasEveryStatement: with a logger, each statement the reader
// runs is one debug record with its text, duration and rows; never its
// arguments (the addresses looked up).
func TestDebugLogHasEveryStatement(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.upsert(t, "anna@mana.test", map[string]float64{"todo": 1})
	log, records := logtest.New()
	r, err := Open(ctx, w.dsn, Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Personas(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddressOwners(ctx, []string{"Looked.Up@mana.test"}); err != nil {
		t.Fatal(err)
	}
	rows := map[string]float64{}
	for _, rec := range records.Records("sql") {
		if rec["db"] != "mana-auth" || rec["duration"] == nil || rec["level"] != "DEBUG" {
			t.Errorf("a record without its database or duration, or not at debug level: %v", rec)
		}
		rows[rec["sql"].(string)] = rec["rows"].(float64)
	}
	for sql, want := range map[string]float64{
		strings.Join(strings.Fields(PersonasQuery), " "):       1,
		strings.Join(strings.Fields(AddressHoldersQuery), " "): 0,
	} {
		if got, ok := rows[sql]; !ok || got != want {
			t.Errorf("statement %.40q… logged with rows %v (logged: %v), want %v", sql, got, ok, want)
		}
	}
	if text := records.Text(); strings.Contains(strings.ToLower(text), "looked.up") {
		t.Errorf("the log holds an argument:\n%s", text)
	}
}

// ownerOf asks r who holds one address.
func ownerOf(ctx context.Context, r *Reader, email string) (state.OwnerKind, error) {
	h, err := r.AddressOwners(ctx, []string{email})
	return h[email].Kind, err
}
