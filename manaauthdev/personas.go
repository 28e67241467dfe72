package manaauthdev

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBody bounds what the stand-in reads of a request body.
const maxBody = 32 << 20

var tickCadences = []string{"daily", "weekdays", "hourly"}

type personaListEntry struct {
	UserID       string  `json:"userId"`
	Email        string  `json:"email"`
	Name         string  `json:"name"`
	Archetype    string  `json:"archetype"`
	TickCadence  string  `json:"tickCadence"`
	LastActiveAt *string `json:"lastActiveAt"`
	CreatedAt    string  `json:"createdAt"`
	Actions7d    int     `json:"actions7d"`
}

func (s *Server) listPersonas(w http.ResponseWriter, r *http.Request) {
	rows, err := s.store.ListPersonas(r.Context(), s.now().Add(-7*24*time.Hour))
	if s.failed(w, r, err) {
		return
	}
	out := struct {
		Personas []personaListEntry `json:"personas"`
	}{Personas: make([]personaListEntry, 0, len(rows))}
	for _, p := range rows {
		out.Personas = append(out.Personas, personaListEntry{
			UserID: p.UserID, Email: p.Email, Name: p.Name, Archetype: p.Archetype,
			TickCadence: p.TickCadence, LastActiveAt: nullableTimestamp(p.LastActiveAt),
			CreatedAt: timestamp(p.CreatedAt), Actions7d: p.Actions7d,
		})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

type personaDetail struct {
	UserID       string          `json:"userId"`
	Email        string          `json:"email"`
	Name         string          `json:"name"`
	Archetype    string          `json:"archetype"`
	SystemPrompt string          `json:"systemPrompt"`
	ModuleMix    json.RawMessage `json:"moduleMix"`
	TickCadence  string          `json:"tickCadence"`
	LastActiveAt *string         `json:"lastActiveAt"`
	CreatedAt    string          `json:"createdAt"`
}

type actionEntry struct {
	ID           string  `json:"id"`
	PersonaID    string  `json:"personaId"`
	TickID       string  `json:"tickId"`
	ToolName     string  `json:"toolName"`
	InputHash    *string `json:"inputHash"`
	Result       string  `json:"result"`
	ErrorMessage *string `json:"errorMessage"`
	LatencyMs    *int    `json:"latencyMs"`
	CreatedAt    string  `json:"createdAt"`
}

type moduleFeedback struct {
	Module string `json:"module"`
	// AvgRating is, as in the real service, a count of ratings.
	AvgRating int `json:"avgRating"`
}

func (s *Server) personaDetail(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	p, err := s.store.Persona(ctx, id)
	if s.missing(w, r, err) {
		return
	}
	actions, err := s.store.RecentActions(ctx, id, 20)
	if s.failed(w, r, err) {
		return
	}
	counts, err := s.store.FeedbackCounts(ctx, id)
	if s.failed(w, r, err) {
		return
	}
	out := struct {
		Persona          personaDetail    `json:"persona"`
		RecentActions    []actionEntry    `json:"recentActions"`
		FeedbackByModule []moduleFeedback `json:"feedbackByModule"`
	}{
		Persona: personaDetail{
			UserID: p.UserID, Email: p.Email, Name: p.Name, Archetype: p.Archetype,
			SystemPrompt: p.SystemPrompt, ModuleMix: p.ModuleMix, TickCadence: p.TickCadence,
			LastActiveAt: nullableTimestamp(p.LastActiveAt), CreatedAt: timestamp(p.CreatedAt),
		},
		RecentActions:    make([]actionEntry, 0, len(actions)),
		FeedbackByModule: make([]moduleFeedback, 0, len(counts)),
	}
	for _, a := range actions {
		out.RecentActions = append(out.RecentActions, actionEntry{
			ID: a.ID, PersonaID: a.PersonaID, TickID: a.TickID, ToolName: a.ToolName,
			InputHash: a.InputHash, Result: a.Result, ErrorMessage: a.ErrorMessage,
			LatencyMs: a.LatencyMs, CreatedAt: timestamp(a.CreatedAt),
		})
	}
	for _, c := range counts {
		out.FeedbackByModule = append(out.FeedbackByModule, moduleFeedback{Module: c.Module, AvgRating: c.Count})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// readJSONBody parses a request body as JSON.parse would; ok=false when it
// is not JSON (an empty body included).
func readJSONBody(r *http.Request) (v any, ok bool, err error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, false, fmt.Errorf("reading the body: %w", err)
	}
	if len(raw) > maxBody {
		return nil, false, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	v, err = parseJSON(raw)
	return v, err == nil, nil
}

// upsertPersona is POST /api/v1/admin/personas, step by step as the real
// service does it, with no transaction around the steps.
func (s *Server) upsertPersona(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, ok, err := readJSONBody(r)
	if s.failed(w, r, err) {
		return
	}
	if !ok {
		s.writeJSON(w, r, http.StatusBadRequest, routeError{Error: "Invalid JSON body"})
		return
	}
	if body == nil {
		// The route reads body.email of null: a TypeError.
		s.internalError(w, r, errors.New("TypeError: null is not an object (evaluating 'body.email')"))
		return
	}
	fields, _ := body.(map[string]any) // arrays and scalars have none of the fields

	var details []string
	email, isString := fields["email"].(string)
	switch {
	case !truthy(fields["email"]):
		details = append(details, "email required")
	case !isString:
		s.internalError(w, r, fmt.Errorf("TypeError: body.email.includes is not a function (email is %T)", fields["email"]))
		return
	case !strings.Contains(email, "@"):
		details = append(details, "email required")
	}
	if n, hasLen := jsLength(fields["password"]); !truthy(fields["password"]) || (hasLen && n < 8) {
		details = append(details, "password ≥ 8 chars required")
	}
	if !truthy(fields["archetype"]) {
		details = append(details, "archetype required")
	}
	if !truthy(fields["systemPrompt"]) {
		details = append(details, "systemPrompt required")
	}
	switch fields["moduleMix"].(type) {
	case map[string]any, []any: // typeof [] is 'object' too
	default:
		details = append(details, "moduleMix object required")
	}
	if tc := fields["tickCadence"]; truthy(tc) {
		if str, _ := tc.(string); !slices.Contains(tickCadences, str) {
			details = append(details, "tickCadence must be one of daily, weekdays, hourly")
		}
	}
	if len(details) > 0 {
		s.writeJSON(w, r, http.StatusBadRequest, routeError{Error: "ValidationError", Details: details})
		return
	}

	// Values of another type that passed the checks reach the database
	// as JavaScript's String() of them: 42 → "42", {} → "[object Object]".
	archetype := jsString(fields["archetype"])
	prompt := jsString(fields["systemPrompt"])
	cadence := "daily" // body.tickCadence ?? 'daily'
	if tc, present := fields["tickCadence"]; present && tc != nil {
		cadence = jsString(tc)
	}
	mix, err := jsonbFromValue(fields["moduleMix"])
	if s.failed(w, r, err) {
		return
	}
	if s.faults.writeFails(email) {
		s.internalError(w, r, fmt.Errorf("injected write failure for %s", email))
		return
	}

	// 1. The lookup compares the address verbatim.
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		// 2. Better Auth's sign-up, which lowercases the address and answers
		// a made-up id for one that exists.
		// body.name ?? email.split('@')[0]: only a missing name or null
		// falls back; "" is kept.
		name := fields["name"]
		if name == nil {
			name = email[:strings.Index(email, "@")]
		}
		created, apiErr, err := s.signUp(ctx, email, fields["password"], name)
		if s.failed(w, r, err) {
			return
		}
		if apiErr != nil {
			s.writeJSON(w, r, http.StatusInternalServerError, routeError{Error: "Sign-up failed", Message: apiErr.Message})
			return
		}
		u = created
		if s.faults.stopsAfterSignUp(email) {
			resetConnection(w) // the service stopped: no stamp, no row, no answer
			return
		}
	} else if s.failed(w, r, err) {
		return
	}
	userID := u.ID
	// 3. The stamp, whatever kind of user this was.
	if s.failed(w, r, s.store.StampPersona(ctx, userID, s.now())) {
		return
	}
	// 4. The persona row; for a made-up id the foreign key refuses it.
	row := PersonaRow{UserID: userID, Archetype: archetype, SystemPrompt: prompt, ModuleMix: mix, TickCadence: cadence, CreatedAt: s.now()}
	if s.failed(w, r, s.store.UpsertPersona(ctx, row)) {
		return
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		OK     bool   `json:"ok"`
		UserID string `json:"userId"`
		Email  string `json:"email"`
	}{true, userID, email})
}

func (s *Server) deletePersona(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	u, err := s.store.UserByID(ctx, id)
	if s.missing(w, r, err) {
		return
	}
	if u.Kind != KindPersona {
		s.writeJSON(w, r, http.StatusBadRequest, routeError{
			Error: "Refusing to delete non-persona user via this endpoint",
			Hint:  "Use /api/v1/admin/users/:id/data instead",
		})
		return
	}
	if s.faults.writeFails(u.Email) {
		s.internalError(w, r, fmt.Errorf("injected write failure for %s", u.Email))
		return
	}
	err = s.store.DeleteUser(ctx, id)
	if s.missing(w, r, err) {
		return
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		OK      bool   `json:"ok"`
		Deleted string `json:"deleted"`
	}{true, id})
}
