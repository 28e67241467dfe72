package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// End to end with an admin's credentials: personactl signs in as Mana's
// web app does and renews its token, against mana-auth-dev as mana-auth is
// today (every token claims role "user") and as it is with its role line
// fixed (devtest.WithFixedRoleClaim).

const (
	e2eAdmin         = "ops@example.test"
	e2eAdminPassword = "admin-pw-canary-0d5b7e19"
)

// signInAs makes the runs sign in as email with password (from a file)
// instead of sending the admin JWT.
func (e *e2e) signInAs(email, password string) {
	e.t.Helper()
	e.t.Setenv("MANA_ADMIN_JWT", "")
	e.t.Setenv("MANA_ADMIN_EMAIL", email)
	e.t.Setenv("MANA_ADMIN_PASSWORD_FILE", writeFile(e.t, e, "admin.password", []byte(password+"\n")))
}

// adminSessions counts the sessions mana-auth holds for the address.
func (e *e2e) adminSessions(email string) int {
	e.t.Helper()
	u, err := e.inst.Store.UserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.inst.Store.RowCounts(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Sessions
}

// clockWriter moves the clock after every write, as a slow run's writes
// would.
type clockWriter struct {
	apply.Writer
	clock *manaauthdev.Clock
	step  time.Duration
}

func (w *clockWriter) Upsert(ctx context.Context, p catalog.Persona, password string) (string, error) {
	defer w.clock.Advance(w.step)
	return w.Writer.Upsert(ctx, p, password)
}

func (w *clockWriter) Delete(ctx context.Context, id string) error {
	defer w.clock.Advance(w.step)
	return w.Writer.Delete(ctx, id)
}

// TestE2ESignedInApplyOutlivesItsTokens: an apply whose writes span more
// than three lifetimes of mana-auth's access token (a minute here, 20 s
// a write) signs in once, renews the token as it goes, sends no admin
// request with an expired token, and logs out at the end. No 2-minute
// refusal applies: personactl renews the token itself.
func TestE2ESignedInApplyOutlivesItsTokens(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	e := newE2E(t, devtest.WithNow(clock.Now), devtest.WithFixedRoleClaim(), devtest.WithTokenTTL(time.Minute))
	e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
	e.signInAs(e2eAdmin, e2eAdminPassword)
	testHooks.Now = clock.Now
	testHooks.Writer = func(w apply.Writer) apply.Writer { return &clockWriter{w, clock, 20 * time.Second} }
	defer func() { testHooks.Now, testHooks.Writer = nil, nil }()

	r := e.must(0, "apply", "--auto-approve", "--parallelism=1")
	if !strings.Contains(r.out, "10 created") {
		t.Errorf("the signed-in apply does not create the 10 personas\n%s", r)
	}
	f := e.faults()
	if n := e.inst.Server.ExpiredTokenRequests(); n != 0 {
		t.Errorf("%d admin requests carried an expired token", n)
	}
	if n := f.Requests(http.MethodPost, manaauthdev.PathRefresh); n < 4 {
		t.Errorf("%d refreshes over 200 s of 60-second tokens", n)
	}
	if n := f.Requests(http.MethodPost, manaauthdev.PathSignIn); n != 1 {
		t.Errorf("%d sign-ins, want 1", n)
	}
	if n := f.Requests(http.MethodPost, manaauthdev.PathLogout); n != 1 || e.adminSessions(e2eAdmin) != 0 {
		t.Errorf("%d logouts, %d sessions left; want the run's session ended", n, e.adminSessions(e2eAdmin))
	}
	testHooks.Writer = nil
	e.must(0, "plan", "--detailed-exitcode")
}

// TestE2ESignedInSessionEndsMidRun: when mana-auth refuses the refresh in
// the middle of an apply (the session ended), the run stops as with an
// expired token: no new step, nothing rolled back, the journal open; the
// next apply signs in anew and converges.
func TestE2ESignedInSessionEndsMidRun(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	e := newE2E(t, devtest.WithNow(clock.Now), devtest.WithFixedRoleClaim())
	e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
	e.signInAs(e2eAdmin, e2eAdminPassword)
	testHooks.Now = clock.Now
	w := &countingWriter{at: 3, hook: func() { clock.Advance(8 * 24 * time.Hour) }} // past the session's 7 days
	testHooks.Writer = func(inner apply.Writer) apply.Writer { w.Writer = inner; return w }
	defer func() { testHooks.Now, testHooks.Writer = nil, nil }()

	r := e.must(1, "apply", "--auto-approve", "--parallelism=1")
	testHooks.Writer = nil
	for _, want := range []string{"Session expired", "no longer takes this run's admin sign-in", "nothing was rolled back", "signs in anew"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("the error lacks %q\n%s", want, r)
		}
	}
	if live := e.live(); len(live) != 3 {
		t.Errorf("%d personas live; want the 3 created before the refusal, none rolled back", len(live))
	}
	r = e.must(0, "apply", "--auto-approve")
	if !strings.Contains(r.err, "interrupted") || !strings.Contains(r.out, "7 created") {
		t.Errorf("the next signed-in run does not report the halted one and converge\n%s", r)
	}
	if n := e.inst.Server.ExpiredTokenRequests(); n != 0 {
		t.Errorf("%d admin requests carried an expired token", n)
	}
}

// TestE2ESignInWrongPassword: a wrong password costs exactly one sign-in
// attempt and nothing else: exit 1 with one sentence, before any read, as
// mana-auth is today and with its role line fixed.
func TestE2ESignInWrongPassword(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		var opts []devtest.Option
		if fixed {
			opts = append(opts, devtest.WithFixedRoleClaim())
		}
		e := newE2E(t, opts...)
		e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
		e.signInAs(e2eAdmin, "not-the-password-canary-4e1")
		e.wrongPasswordCostsOneAttempt()
	}
}

func (e *e2e) wrongPasswordCostsOneAttempt() {
	t := e.t
	for _, args := range [][]string{{"apply", "--auto-approve"}, {"plan"}} {
		e.faults().ResetCounts()
		r := e.must(1, args...)
		if want := "Error: mana-auth refused the admin sign-in of " + e2eAdmin + ": the address or the password is wrong; check MANA_ADMIN_EMAIL"; !strings.HasPrefix(r.err, want) || strings.Count(r.err, "\n") != 1 {
			t.Errorf("%s with a wrong password: want one line starting %q\n%s", args[0], want, r)
		}
		if counts := e.faults().Counts(); len(counts) != 1 || counts["POST "+manaauthdev.PathSignIn] != 1 {
			t.Errorf("%s with a wrong password sent %v; want the one sign-in", args[0], counts)
		}
	}
}

// TestE2ESignInNotAnAdmin: the admin API's 403 after a sign-in is
// explained. As mana-auth is today, an admin and a plain user alike get
// tokens claiming "user": both hear that the account is not an admin or
// that mana-auth drops the role, with the fix. With the role line fixed, a
// plain user hears that it is not an admin.
func TestE2ESignInNotAnAdmin(t *testing.T) {
	const defect = "this account is not an admin, or mana-auth drops the role"
	e := newE2E(t)
	e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
	e.signInAs(e2eAdmin, e2eAdminPassword)
	r := e.must(1, "plan")
	for _, want := range []string{"403", `claims role "user"`, defect, "if auth.users.role is 'admin' for " + e2eAdmin, "role: { type: 'string', defaultValue: 'user', input: false }", "better-auth.config.ts"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("the user-role admin's plan does not say %q\n%s", want, r)
		}
	}
	if n := e.adminSessions(e2eAdmin); n != 0 {
		t.Errorf("%d sessions left after the refused run", n)
	}
	e.inst.SignUpHuman(t, "plain@example.test", "plain-password-1", "Plain")
	e.inst.VerifyEmail(t, "plain@example.test")
	e.signInAs("plain@example.test", "plain-password-1")
	if r := e.must(1, "plan"); !strings.Contains(r.err, defect) {
		t.Errorf("a plain user against today's mana-auth: want %q\n%s", defect, r)
	}

	fixed := newE2E(t, devtest.WithFixedRoleClaim())
	fixed.inst.SignUpHuman(t, "plain@example.test", "plain-password-1", "Plain")
	fixed.inst.VerifyEmail(t, "plain@example.test")
	fixed.signInAs("plain@example.test", "plain-password-1")
	r = fixed.must(1, "apply", "--auto-approve")
	if !strings.Contains(r.err, "plain@example.test is not an admin") || strings.Contains(r.err, "additionalFields") {
		t.Errorf("a plain user against the fixed mana-auth: want that it is not an admin, and no word of the role line\n%s", r)
	}
	if n := fixed.writes(); n != 0 {
		t.Errorf("%d writes by a user who is not an admin", n)
	}
}

// TestE2EAuthStatus: auth status shows the token's source, subject, role,
// issuer and expiry and whether the admin API takes it, with exit 1 when a
// run could not use it, and never a secret.
func TestE2EAuthStatus(t *testing.T) {
	e := newE2E(t, devtest.WithFixedRoleClaim())
	r := e.must(0, "auth", "status")
	for _, want := range []string{"Source:", "MANA_ADMIN_JWT", "Role claim:", "admin", "Issuer:", manaauthdev.TokenIssuer, "Expires:", "Admin API:", "accepts it"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("auth status with the admin JWT does not say %q\n%s", want, r)
		}
	}
	t.Setenv("MANA_ADMIN_JWT", e.inst.Server.MintToken(manaauthdev.RoleAdmin, 90*time.Second))
	if r := e.must(1, "auth", "status"); !strings.Contains(r.err, "less than 2m0s from now") {
		t.Errorf("a token about to expire: want exit 1 saying so\n%s", r)
	}
	t.Setenv("MANA_ADMIN_JWT", e.inst.UserToken)
	if r := e.must(1, "auth", "status"); !strings.Contains(r.out, "Role claim:  user") || !strings.Contains(r.err, "403") {
		t.Errorf("a user's token: want its role and the 403\n%s", r)
	}

	e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
	e.signInAs(e2eAdmin, e2eAdminPassword)
	r = e.must(0, "auth", "status")
	for _, want := range []string{"a sign-in as " + e2eAdmin + " (MANA_ADMIN_EMAIL), renewed as a run goes", "admin", "accepts it"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("auth status signed in does not say %q\n%s", want, r)
		}
	}
	if n := e.adminSessions(e2eAdmin); n != 0 {
		t.Errorf("auth status leaves %d sessions", n)
	}
	// A flag beats the environment: --jwt-file over the sign-in.
	r = e.must(0, "auth", "status", "--jwt-file="+writeFile(t, e, "admin.jwt", []byte(e.inst.AdminToken)))
	if !strings.Contains(r.out, "--jwt-file") || strings.Contains(r.out, "sign-in") {
		t.Errorf("--jwt-file does not beat MANA_ADMIN_EMAIL\n%s", r)
	}
	t.Setenv("MANA_ADMIN_JWT", e.inst.AdminToken)
	if r := e.must(1, "auth", "status"); !strings.Contains(r.err, "MANA_ADMIN_JWT and MANA_ADMIN_EMAIL both give the admin token; keep one") {
		t.Errorf("two variables: want an error naming both\n%s", r)
	}

	plain := newE2E(t)
	plain.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
	plain.signInAs(e2eAdmin, e2eAdminPassword)
	if r := plain.must(1, "auth", "status"); !strings.Contains(r.out, "Role claim:  user") || !strings.Contains(r.err, "mana-auth drops the role") {
		t.Errorf("the user-role admin: want role user and the cause\n%s", r)
	}
}
