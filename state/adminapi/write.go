package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/mana/personactl/catalog"
)

// UpsertRequest is the body of a create-or-update, keyed by Email. It holds
// the persona's password: its String and GoString never show it.
type UpsertRequest struct {
	Email string `json:"email"`
	// Name is used only when the user is new; mana-auth never renames.
	Name         string `json:"name,omitempty"`
	Password     string `json:"password"`
	Archetype    string `json:"archetype"`
	SystemPrompt string `json:"systemPrompt"`
	// ModuleMix must not be nil (it would be sent as null, which mana-auth refuses).
	ModuleMix map[string]float64 `json:"moduleMix"`
	// TickCadence empty leaves it out, and mana-auth stores "daily".
	TickCadence string `json:"tickCadence,omitempty"`
}

// String describes the request without its password.
func (r UpsertRequest) String() string {
	return fmt.Sprintf("upsert %s (name %q, archetype %q, tickCadence %q, %d modules, password %d characters)",
		r.Email, r.Name, r.Archetype, r.TickCadence, len(r.ModuleMix), jsLength(r.Password))
}

// GoString is String, so that %#v does not print the password either.
func (r UpsertRequest) GoString() string { return r.String() }

// CheckError lists every rule of mana-auth's that an UpsertRequest breaks.
type CheckError struct {
	Email    string
	Problems []string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("request for %q would be refused by mana-auth: %s",
		e.Email, strings.Join(e.Problems, "; "))
}

// Password length bounds: mana-auth's own check, and Better Auth's for a new user.
const (
	minPassword = 8
	maxPassword = 128
)

// Check validates the body against the rules mana-auth applies (an email
// with @, a password of 8 to 128 characters as JavaScript counts them, an
// archetype, a systemPrompt, a moduleMix object, a tickCadence of daily,
// weekdays or hourly when given), so that an apply can check every body
// before its first write. It reports every rule broken, never the password
// itself. It also refuses capitals in the address, which mana-auth accepts
// once and then fails on forever.
func (r UpsertRequest) Check() error {
	var problems []string
	if !strings.Contains(r.Email, "@") {
		problems = append(problems, "email must contain @")
	} else if r.Email != strings.ToLower(r.Email) {
		problems = append(problems, "email must be lowercase: mana-auth stores addresses lowercased but looks them up as sent, so every later upsert would fail")
	}
	// JavaScript counts UTF-16 code units; so does the server.
	if n := jsLength(r.Password); n < minPassword || n > maxPassword {
		problems = append(problems, fmt.Sprintf("password must be %d to %d characters long (it has %d)", minPassword, maxPassword, n))
	}
	if r.Archetype == "" {
		problems = append(problems, "archetype is required")
	}
	if r.SystemPrompt == "" {
		problems = append(problems, "systemPrompt is required")
	}
	if r.ModuleMix == nil {
		problems = append(problems, "moduleMix is required (an object of module → weight)")
	}
	for _, k := range catalog.MixKeys(r.ModuleMix, nil) {
		if v := r.ModuleMix[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			problems = append(problems, fmt.Sprintf("moduleMix weight of %q must be a finite number", k))
		}
	}
	if r.TickCadence != "" && !slices.Contains(catalog.Cadences(), r.TickCadence) {
		problems = append(problems, fmt.Sprintf("tickCadence %q must be one of %s", r.TickCadence, strings.Join(catalog.Cadences(), ", ")))
	}
	if len(problems) > 0 {
		return &CheckError{Email: r.Email, Problems: problems}
	}
	return nil
}

func jsLength(s string) int { return len(utf16.Encode([]rune(s))) }

// Upsert creates the persona, or updates the one with the same email, and
// returns its user id. It checks the body first and sends nothing if the
// server would refuse it. Retrying is safe: the call is idempotent for a
// lowercase address.
func (c *Client) Upsert(ctx context.Context, req UpsertRequest) (userID string, err error) {
	if err := req.Check(); err != nil {
		return "", err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("upsert %s: %w", req.Email, err)
	}
	r := request{method: http.MethodPost, path: pathPersonas, body: body, auth: true, email: req.Email, secrets: []string{req.Password}}
	r.read = func(b io.Reader) (err error) {
		userID, err = readUpsertAnswer(r, b)
		return err
	}
	if err := c.do(ctx, r); err != nil {
		return "", fmt.Errorf("upsert %s: %w", req.Email, err)
	}
	return userID, nil
}

// readUpsertAnswer decodes {"ok":true,"userId":…} and returns the user id.
func readUpsertAnswer(r request, b io.Reader) (string, error) {
	var answer struct {
		UserID string `json:"userId"`
	}
	if err := decodeAnswer(r, b, &answer); err != nil {
		return "", err
	}
	if answer.UserID == "" {
		return "", decodeError(r, "userId", errors.New("missing"))
	}
	return answer.UserID, nil
}

// Delete hard-deletes the persona with userID, with its history. An unknown
// id is an error matching ErrNotFound, a user who is not a persona one
// matching ErrNotPersona. A 404 to a retry counts as success: the earlier
// try deleted it and its answer was lost.
func (c *Client) Delete(ctx context.Context, userID string) error {
	if userID == "" {
		return errors.New("delete persona: empty user id")
	}
	r := request{method: http.MethodDelete, path: pathPersonas + "/" + url.PathEscape(userID), auth: true}
	r.read = func(b io.Reader) error {
		var answer struct {
			Deleted string `json:"deleted"`
		}
		return decodeAnswer(r, b, &answer)
	}
	err := c.do(ctx, r)
	var ae *APIError
	if errors.As(err, &ae) && ae.Tries > 1 && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
