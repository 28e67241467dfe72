package state

import "time"

// LoginStatus is what logging in as a persona came to.
type LoginStatus int

const (
	// LoginUnknown: the request may have reached mana-auth, but no answer
	// was read (a timeout or a broken connection after it was written).
	// It may have counted as a failed attempt; it is never retried.
	LoginUnknown LoginStatus = iota
	// LoginReady: 200, and the user is a persona: the runner can log in.
	LoginReady
	// LoginNotPersona: 200, but the user is of another kind (Kind says which).
	LoginNotPersona
	// LoginWrongPassword: 401 INVALID_CREDENTIALS: the password (derived
	// from the seed secret) is not the user's, or no user has the address.
	// It counted as one failed attempt toward the lockout.
	LoginWrongPassword
	// LoginLocked: 429 ACCOUNT_LOCKED: five failures in 15 minutes locked
	// the address; RetryAfter says for how long.
	LoginLocked
)

func (s LoginStatus) String() string {
	switch s {
	case LoginReady:
		return "ready"
	case LoginNotPersona:
		return "not a persona"
	case LoginWrongPassword:
		return "wrong password"
	case LoginLocked:
		return "locked"
	}
	return "unknown"
}

// LoginResult is mana-auth's verdict on one login as a persona, as the
// runner logs in; the admin API adapter reports it, verify reads it.
type LoginResult struct {
	Status LoginStatus
	// Kind is user.kind of a successful login ("persona", "human", …).
	Kind string
	// RetryAfter is how long a locked address stays locked.
	RetryAfter time.Duration
	// Reason says, for LoginUnknown, what happened to the request.
	Reason string
}
