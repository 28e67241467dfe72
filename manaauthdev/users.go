package manaauthdev

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

type userEntry struct {
	ID           string  `json:"id"`
	Email        string  `json:"email"`
	Name         string  `json:"name"`
	Role         string  `json:"role"`
	CreatedAt    string  `json:"createdAt"`
	LastActiveAt *string `json:"lastActiveAt,omitempty"`
}

type legacyUserEntry struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	AccessTier string `json:"accessTier"`
	CreatedAt  string `json:"createdAt"`
}

// searchUsers is GET /api/v1/admin/users, bug included: a page holding a
// user who has a session fails with 500.
func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search, tier := q.Get("search"), q.Get("tier")
	if tier != "" && search == "" {
		s.usersByTier(w, r, tier)
		return
	}
	page := jsParsePositive(q.Get("page"), 1)
	limit := jsParsePositive(q.Get("limit"), 20)
	users, total, err := s.store.SearchUsers(r.Context(), UserQuery{Search: search, Offset: (page - 1) * limit, Limit: limit})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := struct {
		Users []userEntry `json:"users"`
		Total int         `json:"total"`
		Page  int         `json:"page"`
		Limit int         `json:"limit"`
	}{Users: make([]userEntry, 0, len(users)), Total: total, Page: page, Limit: limit}
	for _, u := range users {
		if u.LastActiveAt != nil {
			// The real query's last-activity column breaks the answer for
			// every page that holds someone who has signed in.
			s.internalError(w, r, errors.New("users search: page holds a user with a session (the real service's bug)"))
			return
		}
		out.Users = append(out.Users, userEntry{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: timestamp(u.CreatedAt)})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) usersByTier(w http.ResponseWriter, r *http.Request, tier string) {
	users, err := s.store.UsersByTier(r.Context(), tier)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := struct {
		Users []legacyUserEntry `json:"users"`
		Count int               `json:"count"`
	}{Users: make([]legacyUserEntry, 0, len(users)), Count: len(users)}
	for _, u := range users {
		out.Users = append(out.Users, legacyUserEntry{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, AccessTier: u.AccessTier, CreatedAt: timestamp(u.CreatedAt)})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// jsParsePositive reads the leading integer of s as parseInt does and falls
// back to def when there is none or it is below 1.
func jsParsePositive(s string, def int) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n < 1 {
		return def
	}
	return n
}
