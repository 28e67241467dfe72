package manaauthdev

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
)

type userEntry struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt string `json:"createdAt"` // no lastActiveAt: a page with one fails (searchUsers)
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
	// The route reads parseInt(page || '1') and parseInt(limit || '20') and
	// hands limit and (page - 1) * limit to Drizzle, which writes LIMIT only
	// for a number >= 0 and OFFSET only for a truthy one (not 0, not NaN);
	// PostgreSQL then refuses a negative OFFSET and a bigint out of range.
	page := jsParseInt(cmp.Or(q.Get("page"), "1"))
	limit := jsParseInt(cmp.Or(q.Get("limit"), "20"))
	offset := (page - 1) * limit
	query := UserQuery{Search: search, Limit: -1}
	if limit >= 0 { // false for NaN
		if limit > math.MaxInt64 {
			s.internalError(w, r, fmt.Errorf("LIMIT %v: bigint out of range", limit))
			return
		}
		query.Limit = int(limit)
	}
	if offset != 0 && !math.IsNaN(offset) {
		if offset < 0 || offset > math.MaxInt64 {
			s.internalError(w, r, fmt.Errorf("OFFSET %v: must not be negative, and fit a bigint", offset))
			return
		}
		query.Offset = int(offset)
	}
	users, total, err := s.store.SearchUsers(r.Context(), query)
	if s.failed(w, r, err) {
		return
	}
	out := struct {
		Users []userEntry     `json:"users"`
		Total int             `json:"total"`
		Page  json.RawMessage `json:"page"`  // NaN is null
		Limit json.RawMessage `json:"limit"` // NaN is null
	}{Users: make([]userEntry, 0, len(users)), Total: total, Page: jsNumberJSON(page), Limit: jsNumberJSON(limit)}
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
	if s.failed(w, r, err) {
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
