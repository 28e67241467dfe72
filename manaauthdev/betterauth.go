package manaauthdev

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Better Auth's own routes, as far as tests need them: a person's sign-up
// and sign-in with email and password. E-mail verification is required, as
// in mana-auth, and there is no mail: tests verify through the store.

const (
	minPasswordLength = 8
	maxPasswordLength = 128
	sessionLifetime   = 7 * 24 * time.Hour
)

// apiError is an error Better Auth answers with {message, code}.
type apiError struct {
	Status  int
	Message string
	Code    string
}

// baUser is Better Auth's user object as mana-auth returns it; Role only
// with Options.FixedRoleClaim (Better Auth shows the fields it knows).
type baUser struct {
	Name             string  `json:"name"`
	Email            string  `json:"email"`
	EmailVerified    bool    `json:"emailVerified"`
	Image            *string `json:"image"`
	CreatedAt        string  `json:"createdAt"`
	UpdatedAt        string  `json:"updatedAt"`
	TwoFactorEnabled bool    `json:"twoFactorEnabled"`
	AccessTier       string  `json:"accessTier"`
	Kind             string  `json:"kind"`
	Role             string  `json:"role,omitempty"`
	ID               string  `json:"id"`
}

func (s *Server) userJSON(u User) baUser {
	b := baUser{
		Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified,
		CreatedAt: timestamp(u.CreatedAt), UpdatedAt: timestamp(u.UpdatedAt),
		AccessTier: u.AccessTier, Kind: u.Kind, ID: u.ID,
	}
	if s.fixedRoleClaim {
		b.Role = u.Role
	}
	return b
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, struct {
		Status    string `json:"status"`
		Service   string `json:"service"`
		Timestamp string `json:"timestamp"`
	}{"ok", "mana-auth", timestamp(s.now())})
}

func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.writeJSON(w, r, e.Status, betterAuthError{Message: e.Message, Code: e.Code})
}

// readAuthBody reads the JSON object of a Better Auth route.
func (s *Server) readAuthBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	body, ok, err := readJSONBody(r)
	if err != nil {
		s.internalError(w, r, err)
		return nil, false
	}
	fields, isObject := body.(map[string]any)
	if !ok || !isObject {
		s.writeAPIError(w, r, &apiError{Status: http.StatusBadRequest, Message: "Invalid body", Code: "VALIDATION_ERROR"})
		return nil, false
	}
	return fields, true
}

func (s *Server) signUpRoute(w http.ResponseWriter, r *http.Request) {
	fields, ok := s.readAuthBody(w, r)
	if !ok {
		return
	}
	u, apiErr, err := s.signUp(r.Context(), fields["email"], fields["password"], fields["name"])
	if s.failed(w, r, err) {
		return
	}
	if apiErr != nil {
		s.writeAPIError(w, r, apiErr)
		return
	}
	// requireEmailVerification: no session, so no token.
	s.writeJSON(w, r, http.StatusOK, struct {
		Token *string `json:"token"`
		User  baUser  `json:"user"`
	}{nil, s.userJSON(u)})
}

// signUp is Better Auth's email sign-up: body checks, password length, then
// the address lowercased; an address that exists answers a made-up user and
// creates nothing, so that sign-up cannot tell who has an account.
func (s *Server) signUp(ctx context.Context, emailV, passwordV, nameV any) (User, *apiError, error) {
	var issues []string
	name, _ := stringField(&issues, "name", nameV)
	email, ok := stringField(&issues, "email", emailV)
	if ok && !validEmail(email) {
		issues = append(issues, "[body.email] Invalid email address")
	}
	password, ok := stringField(&issues, "password", passwordV)
	if ok && password == "" {
		issues = append(issues, "[body.password] Too small: expected string to have >=1 characters")
	}
	if len(issues) > 0 {
		return User{}, &apiError{Status: http.StatusBadRequest, Message: strings.Join(issues, "; "), Code: "VALIDATION_ERROR"}, nil
	}
	switch n := utf16Len(password); {
	case n < minPasswordLength:
		return User{}, &apiError{Status: http.StatusBadRequest, Message: "Password too short", Code: "PASSWORD_TOO_SHORT"}, nil
	case n > maxPasswordLength:
		return User{}, &apiError{Status: http.StatusBadRequest, Message: "Password too long", Code: "PASSWORD_TOO_LONG"}, nil
	}
	now := s.now()
	u := User{
		ID: NewID(), Name: name, Email: strings.ToLower(email),
		Role: RoleUser, AccessTier: TierPublic, Kind: KindHuman,
		CreatedAt: now, UpdatedAt: now,
	}
	_, err := s.store.UserByEmail(ctx, u.Email)
	switch {
	case err == nil:
		return u, nil, nil // the made-up user; nothing is stored
	case !errors.Is(err, ErrNotFound):
		return User{}, nil, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, nil, err
	}
	if err := s.store.CreateUser(ctx, u, hash); err != nil {
		if errors.Is(err, ErrEmailTaken) { // a concurrent sign-up won the race
			return User{}, &apiError{Status: http.StatusUnprocessableEntity, Message: "Failed to create user", Code: "FAILED_TO_CREATE_USER"}, nil
		}
		return User{}, nil, err
	}
	return u, nil, nil
}

func (s *Server) signInRoute(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fields, ok := s.readAuthBody(w, r)
	if !ok {
		return
	}
	email, password, issues := credentialFields(fields)
	if len(issues) > 0 {
		s.writeAPIError(w, r, &apiError{Status: http.StatusBadRequest, Message: strings.Join(issues, "; "), Code: "VALIDATION_ERROR"})
		return
	}
	if !validEmail(email) {
		s.writeAPIError(w, r, &apiError{Status: http.StatusBadRequest, Message: "Invalid email", Code: "INVALID_EMAIL"})
		return
	}
	u, ok, err := s.checkCredentials(ctx, email, password)
	switch {
	case err != nil:
		s.internalError(w, r, err)
		return
	case !ok:
		s.writeAPIError(w, r, &apiError{Status: http.StatusUnauthorized, Message: "Invalid email or password", Code: "INVALID_EMAIL_OR_PASSWORD"})
		return
	case !u.EmailVerified:
		s.writeAPIError(w, r, &apiError{Status: http.StatusForbidden, Message: "Email not verified", Code: "EMAIL_NOT_VERIFIED"})
		return
	}
	sess, err := s.newSession(ctx, r, u)
	if s.failed(w, r, err) {
		return
	}
	setCookie(w, sessionCookie(r), url.QueryEscape(s.signedToken(sess.Token)), sessionLifetime)
	s.writeJSON(w, r, http.StatusOK, struct {
		Redirect bool   `json:"redirect"`
		Token    string `json:"token"`
		User     baUser `json:"user"`
	}{false, sess.Token, s.userJSON(u)})
}

// stringField returns the body's field name, valued v, if it is a string,
// and otherwise adds zod's issue about it to issues.
func stringField(issues *[]string, name string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		*issues = append(*issues, "[body."+name+"] Invalid input: expected string, received "+jsTypeName(v))
	}
	return s, ok
}

func jsTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "undefined"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "number"
	}
}

// emailPattern is zod's email check without its two look-aheads, which
// validEmail does by hand: the local part starts with no dot and the
// address has no two dots in a row.
var emailPattern = regexp.MustCompile(`^[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`)

func validEmail(s string) bool {
	return !strings.HasPrefix(s, ".") && !strings.Contains(s, "..") && emailPattern.MatchString(s)
}
