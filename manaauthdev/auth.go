package manaauthdev

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// requireAdmin is the admin middleware: it answers 401 or 403 and returns
// false unless the request carries an admin's token. Options.AdminToken
// and UserToken, when set, are accepted whole (static tokens); any other
// token must be one the server signed, unexpired, and claim role "admin".
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		s.writeJSON(w, r, http.StatusUnauthorized, middlewareError{StatusCode: 401, Message: "Missing or invalid Authorization header"})
		return false
	}
	switch {
	case sameToken(token, s.adminToken):
		return true
	case sameToken(token, s.userToken):
		s.forbidden(w, r)
		return false
	}
	claims, err := s.verifyToken(token)
	if errors.Is(err, errTokenExpired) {
		s.expiredTokens.Add(1)
	}
	if err != nil {
		s.writeJSON(w, r, http.StatusUnauthorized, middlewareError{StatusCode: 401, Message: "Invalid or expired token"})
		return false
	}
	if claims["role"] != RoleAdmin {
		s.forbidden(w, r)
		return false
	}
	return true
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusForbidden, routeError{Error: "Forbidden", Message: "Admin access required"})
}

func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
