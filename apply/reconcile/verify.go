package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/internal/failure"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// Authenticator logs in as a persona the way the persona runner does.
// adminapi.Client satisfies it.
type Authenticator interface {
	Login(ctx context.Context, email, password string) (state.LoginResult, error)
}

// Status is what verify found out about one persona.
type Status string

const (
	// StatusReady: the runner can log in.
	StatusReady Status = "ready"
	// StatusWrongPassword: mana-auth refused the password derived from
	// the seed secret.
	StatusWrongPassword Status = "wrong_password"
	// StatusOtherSecret: the state records that the persona's password
	// came from another seed secret; no login was sent, as a failed one
	// counts toward mana-auth's lockout (VerifyRequest.ForceLogin sends it).
	StatusOtherSecret Status = "wrong_password_not_tried"
	// StatusLocked: mana-auth locked the address after failed logins.
	StatusLocked Status = "locked"
	// StatusNotPersona: the user at the address is not a persona, as the
	// login answered or as the live side shows for an address no live
	// persona has (then no login is sent: it would be a person's).
	StatusNotPersona Status = "not_persona"
	// StatusNotLive: in the catalog, not live: nothing to log in as.
	StatusNotLive Status = "not_live"
	// StatusUnknown: the login may have reached mana-auth, but its answer
	// was lost.
	StatusUnknown Status = "unknown"
	// StatusError: the login failed otherwise.
	StatusError Status = "error"
)

// Readiness is whether the runner can log in as one persona.
type Readiness struct {
	Email  string `json:"email"`
	Status Status `json:"status"`
	// LockedFor is how long a locked address stays locked.
	LockedFor time.Duration `json:"-"`
	LockedMin int           `json:"locked_minutes,omitempty"`
	Detail    string        `json:"detail,omitempty"`
}

// Ready reports whether the runner can log in.
func (r Readiness) Ready() bool { return r.Status == StatusReady }

// statusWords are the statuses as a person reads them.
var statusWords = map[Status]string{
	StatusReady:         "ready",
	StatusWrongPassword: "wrong password",
	StatusOtherSecret:   "wrong password (from the recorded fingerprint; not tried)",
	StatusLocked:        "locked",
	StatusNotPersona:    "not a persona",
	StatusNotLive:       "not live",
	StatusUnknown:       "unknown",
	StatusError:         "error",
}

// Statuses are the statuses in the order a summary counts them.
var Statuses = []Status{StatusReady, StatusWrongPassword, StatusOtherSecret, StatusLocked, StatusNotPersona, StatusNotLive, StatusUnknown, StatusError}

// StatusWords is status as a person reads it ("wrong password").
func StatusWords(status Status) string {
	if w, ok := statusWords[status]; ok {
		return w
	}
	return string(status)
}

// Verification is what Verify found.
type Verification struct {
	Personas []Readiness `json:"personas"`
	// Recorded counts the personas whose credentials fingerprint was
	// recorded in the state.
	Recorded int `json:"recorded"`
}

// Ready reports whether every persona is ready.
func (v *Verification) Ready() bool {
	for _, r := range v.Personas {
		if !r.Ready() {
			return false
		}
	}
	return true
}

// NotReady lists the personas the runner cannot log in as, a line each:
// address, status, detail.
func (v *Verification) NotReady() []string {
	var bad []string
	for _, r := range v.Personas {
		if !r.Ready() {
			bad = append(bad, fmt.Sprintf("%s: %s: %s", r.Email, StatusWords(r.Status), r.Detail))
		}
	}
	return bad
}

// VerifyApplied logs in, through auth, as every persona res created or
// replaced, the way the runner will; one that cannot is an error naming it.
func (s *Session) VerifyApplied(ctx context.Context, auth Authenticator, res *apply.Result) error {
	emails := append(append([]string(nil), res.Done[plan.Create]...), res.Done[plan.Replace]...)
	if len(emails) == 0 {
		return nil
	}
	v, err := s.Verify(ctx, VerifyRequest{Auth: auth, Emails: emails})
	if err != nil {
		return fmt.Errorf("--verify: %w", err)
	}
	if bad := v.NotReady(); len(bad) > 0 {
		return fmt.Errorf("the apply completed, but the runner cannot log in as %d persona(s) it created or replaced:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	return nil
}

// Unknown reports whether some persona's readiness is not known (exit 1).
func (v *Verification) Unknown() bool {
	for _, r := range v.Personas {
		if r.Status == StatusUnknown || r.Status == StatusError {
			return true
		}
	}
	return false
}

// VerifyRequest says whom to verify and how.
type VerifyRequest struct {
	Auth Authenticator
	// Emails, when not empty, are the only personas verified, compared as
	// plan.Addresses (in any letter case, each once); otherwise every
	// catalog persona is.
	Emails []string
	// Record writes the seed secret's fingerprint into the state for every
	// ready persona, under the state lock.
	Record bool
	// ForceLogin logs in even as a persona whose recorded fingerprint
	// says its password came from another seed secret.
	ForceLogin  bool
	LockTimeout time.Duration
}

// Verify logs in as each catalog persona that is live (or as req.Emails),
// at most Parallelism at once, with the password derived from the seed
// secret. One login request at most reaches mana-auth per persona: a wrong
// password spends one of the five attempts before a lockout, so nothing
// that may have been sent is retried. None is sent as a persona whose
// recorded fingerprint is another seed secret's (a login known to fail),
// unless req.ForceLogin, nor ever to an address mana-auth's database shows
// held by a user who is not a persona.
func (s *Session) Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	if s.Secret == nil {
		return nil, errors.New("verify needs the seed secret the runner uses: set PERSONA_SEED_SECRET")
	}
	emails := plan.Addresses(req.Emails)
	// Only the personas verified are read in full: the others' details
	// would cost a request each for nothing.
	snap, err := s.read(ctx, emails)
	if err != nil {
		return nil, err
	}
	if len(emails) == 0 {
		for _, p := range snap.Input.Desired {
			emails = append(emails, p.Email)
		}
	}
	live := map[string]state.LivePersona{}
	for _, l := range snap.Input.Live {
		live[l.Values.Email] = l
	}
	people, err := s.people(ctx, emails, live)
	if err != nil {
		return nil, err
	}
	out := make([]Readiness, len(emails))
	sem := make(chan struct{}, max(1, s.Parallelism))
	var wg sync.WaitGroup
	for i, email := range emails {
		out[i] = Readiness{Email: email}
		l, ok := live[email]
		switch {
		case people[email]:
			out[i].Status, out[i].Detail = StatusNotPersona, "mana-auth shows a user here who is not a persona (made a person again by hand?); verify does not log in as a person"
			continue
		case !ok:
			out[i].Status, out[i].Detail = StatusNotLive, "no live persona has this address; personactl apply creates it"
			continue
		case !req.ForceLogin && otherSecret(snap, l):
			out[i].Status, out[i].Detail = StatusOtherSecret, "the state's fingerprint says its password came from another seed secret; no login was sent, as a failed one counts toward mana-auth's lockout. Restore that secret, or personactl apply --replace="+email+" (which destroys its history); verify --force-login tries anyway"
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(r *Readiness) {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if v := recover(); v != nil {
					r.Status, r.Detail = StatusError, failure.Recovered(v).Error()
				}
			}()
			*r = s.login(ctx, req.Auth, r.Email)
		}(&out[i])
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	v := &Verification{Personas: out}
	if req.Record {
		n, err := s.recordCredentials(ctx, snap, v, req.LockTimeout)
		v.Recorded = n
		if err != nil {
			return v, err
		}
	}
	return v, nil
}

// people tells which of emails, not live, are held by a user who is not a
// persona.
func (s *Session) people(ctx context.Context, emails []string, live map[string]state.LivePersona) (map[string]bool, error) {
	var missing []string
	for _, e := range emails {
		if _, isLive := live[e]; !isLive {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	owners, err := s.Live.AddressOwners(ctx, missing)
	if err != nil {
		return nil, err
	}
	people := map[string]bool{}
	for e, h := range owners {
		people[e] = h.Kind == state.AddressTaken
	}
	return people, nil
}

// otherSecret reports whether the state records, for the user l is, the
// fingerprint of another seed secret than the one in effect. One that
// cannot be compared is not known to be another's.
func otherSecret(snap *Snapshot, l state.LivePersona) bool {
	r, ok := snap.Recorded.Find(l.Values.Email)
	if !ok || r.UserID != l.UserID || r.SecretFingerprint == "" || r.SecretFingerprint == snap.Input.SecretFingerprint {
		return false
	}
	same, compared := snap.Input.SameSecret[r.SecretFingerprint]
	return compared && !same
}

func (s *Session) login(ctx context.Context, auth Authenticator, email string) Readiness {
	r := Readiness{Email: email}
	res, err := auth.Login(ctx, email, s.Secret.Password(email))
	if err != nil {
		r.Status, r.Detail = StatusError, err.Error()
		return r
	}
	switch res.Status {
	case state.LoginReady:
		r.Status = StatusReady
	case state.LoginWrongPassword:
		r.Status, r.Detail = StatusWrongPassword, "the persona's password came from another seed secret; restore that secret, or personactl apply --replace="+email+" (which destroys its history)"
	case state.LoginLocked:
		r.Status, r.LockedFor = StatusLocked, res.RetryAfter
		r.LockedMin = int((res.RetryAfter + time.Minute - 1) / time.Minute)
		r.Detail = fmt.Sprintf("mana-auth locked the address after 5 failed logins; it unlocks in about %d minute(s)", r.LockedMin)
	case state.LoginNotPersona:
		r.Status, r.Detail = StatusNotPersona, fmt.Sprintf("the login worked but the user is of kind %q, not a persona", res.Kind)
	default:
		r.Status, r.Detail = StatusUnknown, "the login may have reached mana-auth but no answer was read ("+res.Reason+"); it was not retried, since a failed login counts toward the lockout"
	}
	return r
}

// recordCredentials stamps the current secret's fingerprint on every ready
// persona in the state, so that a later plan can tell when the secret was
// rotated. A ready persona the state does not record yet is recorded when
// its live values match the catalog, as the next apply would record it.
// snap is the read verify logged in after.
func (s *Session) recordCredentials(ctx context.Context, snap *Snapshot, v *Verification, timeout time.Duration) (int, error) {
	ready := map[string]bool{}
	for _, r := range v.Personas {
		if r.Ready() {
			ready[r.Email] = true
		}
	}
	if len(ready) == 0 {
		return 0, nil
	}
	lock, err := s.Backend.Lock(ctx, "verify", timeout)
	if err != nil {
		return 0, fmt.Errorf("recording the verified credentials: %w", err)
	}
	defer lock.Release()
	st, err := s.Backend.Read(ctx)
	if err != nil {
		return 0, err
	}
	next := *st
	if next.Lineage == "" {
		next.Lineage = state.NewLineage()
	}
	fingerprint := s.Secret.Fingerprint(next.Lineage)
	desired := map[string]catalog.Persona{}
	for _, p := range snap.Input.Desired {
		desired[p.Email] = p
	}
	liveID := map[string]string{}
	for _, l := range snap.Input.Live {
		liveID[l.Values.Email] = l.UserID
	}
	next.Personas = append([]state.RecordedPersona(nil), st.Personas...)
	n := 0
	for i := range next.Personas {
		// Only the user that was logged into: a persona replaced since the
		// read is another user, with a password of its own.
		if p := &next.Personas[i]; ready[p.Email] && p.UserID == liveID[p.Email] && p.SecretFingerprint != fingerprint {
			p.SecretFingerprint = fingerprint
			n++
		}
	}
	// A persona not recorded yet is added only while the state is the one
	// read with live: had another run written it since, live may have
	// moved too, and the record would describe a persona that is gone.
	unchanged := st.Lineage == snap.Input.Lineage && st.Serial == snap.Input.Serial
	for _, l := range snap.Input.Live {
		email := l.Values.Email
		if _, recorded := st.Find(email); recorded || !ready[email] || !unchanged {
			continue
		}
		if d, ok := desired[email]; ok && len(catalog.Differences(d, l.Values)) == 0 {
			next.Personas = append(next.Personas, state.RecordedPersona{Email: email, UserID: l.UserID, Values: l.Values, SecretFingerprint: fingerprint, AppliedAt: time.Now().UTC()})
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	next.Sort()
	return n, lock.Write(ctx, &next)
}
