package manaauthdev

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A signed-in session, as recorded in testdata/contract/admin-token-exchanges.json:
// Better Auth's sign-in sets the cookie mana.session_token, whose value is
// the session token and its HMAC ("<token>.<signature>", URL-encoded); the
// routes that issue access tokens accept that cookie and nothing else (no
// Bearer token, not the token without its signature); the sign-out needs
// the cookie and a trusted Origin (or Referer). Access tokens carry role
// "user" whatever the user's role, as mana-auth issues them while role is
// missing from Better Auth's user.additionalFields, or with
// Options.FixedRoleClaim the user's role, as the fixed service does.

// Paths of the session routes.
const (
	PathRefresh        = "/api/v1/auth/refresh"
	PathSessionToToken = "/api/v1/auth/session-to-token"
	PathToken          = "/api/auth/token"
	PathGetSession     = "/api/auth/get-session"
	PathSession        = "/api/v1/auth/session"
	PathValidate       = "/api/v1/auth/validate"
	PathLogout         = "/api/v1/auth/logout"
	PathJWKS           = "/api/v1/auth/jwks"
	PathAuthJWKS       = "/api/auth/jwks"
)

// WebAppOrigin is the origin of Mana's web app in development, which
// mana-auth trusts besides its own.
const WebAppOrigin = "http://localhost:5173"

// signingKeyID is the kid of every token's header and of the JWKS.
const signingKeyID = "mana-auth-dev"

// sessionCookie is the cookie's name: Better Auth prefixes __Secure- when
// the service is served over https.
func sessionCookie(r *http.Request) string {
	if r.TLS != nil {
		return "__Secure-mana.session_token"
	}
	return "mana.session_token"
}

// setCookie sets a cookie as Better Auth writes it.
func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	w.Header().Add("Set-Cookie", fmt.Sprintf("%s=%s; Max-Age=%d; Path=/; HttpOnly; SameSite=Lax", name, value, maxAge/time.Second))
}

// signedToken is a session token signed as Better Auth signs its cookie:
// the token, a dot and the base64 HMAC-SHA256 of the token. The cookie
// carries it URL-encoded.
func (s *Server) signedToken(token string) string {
	mac := hmac.New(sha256.New, s.cookieKey)
	mac.Write([]byte(token))
	return token + "." + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// session returns the session and user of the request's signed cookie;
// ok is false without a cookie, with a bad signature, or for a session
// that was deleted or has expired.
func (s *Server) session(r *http.Request) (Session, User, bool, error) {
	c, err := r.Cookie(sessionCookie(r))
	if err != nil {
		return Session{}, User{}, false, nil
	}
	raw, err := url.QueryUnescape(c.Value)
	token, _, _ := strings.Cut(raw, ".")
	if err != nil || !hmac.Equal([]byte(s.signedToken(token)), []byte(raw)) {
		return Session{}, User{}, false, nil
	}
	ctx := r.Context()
	sess, err := s.store.SessionByToken(ctx, token)
	if err == nil && !sess.ExpiresAt.After(s.now()) {
		err = ErrNotFound // expired
	}
	var u User
	if err == nil {
		u, err = s.store.UserByID(ctx, sess.UserID)
	}
	if errors.Is(err, ErrNotFound) {
		return Session{}, User{}, false, nil
	}
	return sess, u, err == nil, err
}

// newSession records a sign-in of u from r.
func (s *Server) newSession(ctx context.Context, r *http.Request, u User) (Session, error) {
	now := s.now()
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	sess := Session{ID: NewID(), Token: NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(sessionLifetime), IPAddress: ip, UserAgent: r.UserAgent()}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Session{}, err
	}
	s.onIssue(sess.Token)
	return sess, nil
}

// roleClaim is the role a token of u claims.
func (s *Server) roleClaim(u User) string {
	if s.fixedRoleClaim {
		return u.Role
	}
	return RoleUser
}

// accessToken issues a token of u's session, living Options.TokenTTL from
// now. Two issued in the same second are the same string, as mana-auth's.
func (s *Server) accessToken(u User, sess Session) string {
	now := s.now()
	token := s.Sign(map[string]any{
		"iat": now.Unix(), "sub": u.ID, "email": u.Email, "role": s.roleClaim(u), "sid": sess.ID,
		"tier": u.AccessTier, "exp": now.Add(s.tokenTTL).Unix(), "iss": TokenIssuer, "aud": "mana",
	})
	s.onIssue(token)
	return token
}

// fromSession answers the routes that turn the session cookie into an
// access token (or, for get-session, the session itself).
func (s *Server) fromSession(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	sess, u, ok, err := s.session(r)
	switch {
	case err != nil:
		s.internalError(w, r, err)
	case !ok && path == PathRefresh:
		s.loginError(w, r, http.StatusUnauthorized, "TOKEN_EXPIRED", "Session expired")
	case !ok && path == PathSessionToToken:
		s.loginError(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "No valid session")
	case !ok && path == PathToken:
		s.writeAPIError(w, r, &apiError{Status: http.StatusUnauthorized, Message: "Unauthorized", Code: "UNAUTHORIZED"})
	case !ok:
		s.writeJSON(w, r, http.StatusOK, nil) // get-session without a session: null
	case path == PathToken:
		s.writeJSON(w, r, http.StatusOK, struct {
			Token string `json:"token"`
		}{s.accessToken(u, sess)})
	case path == PathGetSession || path == PathSession:
		w.Header().Set("set-auth-jwt", s.accessToken(u, sess))
		s.writeJSON(w, r, http.StatusOK, struct {
			Session baSession `json:"session"`
			User    baUser    `json:"user"`
		}{sessionJSON(sess), s.userJSON(u)})
	default:
		// refresh and session-to-token: the session's expiry stays as it is.
		s.writeJSON(w, r, http.StatusOK, struct {
			AccessToken  string `json:"accessToken"`
			RefreshToken string `json:"refreshToken"`
		}{s.accessToken(u, sess), sess.Token})
	}
}

// baSession is Better Auth's session object.
type baSession struct {
	ExpiresAt string `json:"expiresAt"`
	Token     string `json:"token"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	IPAddress string `json:"ipAddress"`
	UserAgent string `json:"userAgent"`
	UserID    string `json:"userId"`
	ID        string `json:"id"`
}

func sessionJSON(s Session) baSession {
	return baSession{
		ExpiresAt: timestamp(s.ExpiresAt), Token: s.Token, CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.CreatedAt),
		IPAddress: s.IPAddress, UserAgent: s.UserAgent, UserID: s.UserID, ID: s.ID,
	}
}

// validate checks a token's signature and expiry. A token that is not
// valid is not recorded; the answer here ({valid:false, error}) is what
// the route's code gives.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	body, _, err := readJSONBody(r)
	if s.failed(w, r, err) {
		return
	}
	fields, _ := body.(map[string]any)
	token, _ := fields["token"].(string)
	claims, err := s.verifyToken(token)
	if err != nil {
		s.writeJSON(w, r, http.StatusOK, struct {
			Valid bool   `json:"valid"`
			Error string `json:"error"`
		}{false, "Invalid or expired token"})
		return
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		Valid   bool           `json:"valid"`
		Payload map[string]any `json:"payload"`
	}{true, claims})
}

// logout is Better Auth's sign-out behind mana-auth's route: with the
// session cookie it needs an Origin (or Referer) it trusts, and deletes the
// session; it always clears the cookies, and a Bearer token ends nothing.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(sessionCookie(r)); err == nil {
		origin := cmp.Or(r.Header.Get("Origin"), r.Header.Get("Referer"))
		if origin == "" || origin == "null" {
			s.writeAPIError(w, r, &apiError{Status: http.StatusForbidden, Message: "Missing or null Origin", Code: "MISSING_OR_NULL_ORIGIN"})
			return
		}
		if !s.trusted(r, origin) {
			s.writeAPIError(w, r, &apiError{Status: http.StatusForbidden, Message: "Invalid origin", Code: "INVALID_ORIGIN"})
			return
		}
		sess, _, ok, err := s.session(r)
		if err == nil && ok {
			err = s.store.DeleteSession(r.Context(), sess.Token)
		}
		if s.failed(w, r, err) {
			return
		}
	}
	for _, name := range []string{sessionCookie(r), "mana.session_data", "mana.dont_remember"} {
		setCookie(w, name, "", 0)
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		Success bool `json:"success"`
	}{true})
}

// trusted reports whether origin (or a Referer's origin) is the web app's
// or the service's own.
func (s *Server) trusted(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	got := u.Scheme + "://" + u.Host
	return got == WebAppOrigin || got == ownOrigin(r)
}

// jwks publishes the public key that signs the server's tokens.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	type key struct {
		Alg string `json:"alg"`
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
		Kid string `json:"kid"`
	}
	x := base64.RawURLEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey))
	s.writeJSON(w, r, http.StatusOK, struct {
		Keys []key `json:"keys"`
	}{[]key{{"EdDSA", "Ed25519", "OKP", x, signingKeyID}}})
}

// AddAdmin creates a verified user with role admin and this password, as
// an operator makes one (a sign-up, then the role and the verification set
// in the database). An address that exists is an error.
func (s *Server) AddAdmin(ctx context.Context, email, password string) (User, error) {
	if !validEmail(email) {
		return User{}, errors.New("not an e-mail address")
	}
	if n := utf16Len(password); n < minPasswordLength || n > maxPasswordLength {
		return User{}, errors.New("the password must have 8 to 128 characters, as Better Auth requires")
	}
	if _, err := s.store.UserByEmail(ctx, strings.ToLower(email)); err == nil {
		return User{}, errors.New("a user with this address exists already")
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: NewID(), Name: "Admin", Email: strings.ToLower(email), EmailVerified: true, Role: RoleAdmin,
		AccessTier: TierPublic, Kind: KindHuman, CreatedAt: now, UpdatedAt: now}
	return u, s.store.CreateUser(ctx, u, hash)
}

// ExpiredTokenRequests counts the admin requests refused because their
// token had expired, since the server started.
func (s *Server) ExpiredTokenRequests() int { return int(s.expiredTokens.Load()) }
