package adminapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/state"
)

// searchPageSize is how many users one search page asks for.
const searchPageSize = 100

// maxSearchPages bounds the pages of one search (100,000 users whose address
// or name contains the address): a server that keeps answering full pages
// must not keep a plan asking for ever.
const maxSearchPages = 1000

// addressOwners is Reader.AddressOwners; live, when not nil, are the live
// personas just read: a user found in live is a persona without another
// request. One the search shows and live lacks is asked about again (the
// detail), as its persona may have been created since live was read.
func (c *Client) addressOwners(ctx context.Context, emails []string, live []state.LivePersona) (map[string]state.Owner, error) {
	var (
		mu   sync.Mutex
		out  = make(map[string]state.Owner, len(emails))
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, c.parallelism)
	)
	for _, email := range emails {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var h state.Owner
			var err error
			func() {
				defer failure.Recover(&err)
				h, err = c.addressOwner(ctx, email, live)
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("checking who holds %s: %w", email, err))
				return
			}
			out[email] = h
		}()
	}
	wg.Wait()
	if err := failure.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) addressOwner(ctx context.Context, email string, live []state.LivePersona) (state.Owner, error) {
	if email == "" {
		return state.Owner{Kind: state.AddressTaken}, errors.New("address owner: empty email")
	}
	u, found, signedIn, err := c.searchUser(ctx, email)
	switch {
	case err != nil:
		return state.Owner{Kind: state.AddressTaken}, err
	case signedIn:
		owner, err := c.personaByEmail(ctx, email, live)
		return state.Owner{Kind: owner}, err
	case !found:
		return state.Owner{Kind: state.AddressFree}, nil
	}
	for _, p := range live {
		if p.UserID == u.ID {
			return state.Owner{Kind: state.AddressPersona, UserID: u.ID}, nil
		}
	}
	// The search shows no kind, and a list read earlier may miss a persona
	// whose upsert finished since (one a killed run left in flight): the
	// detail answers only for a user with a persona row.
	taken := state.Owner{Kind: state.AddressTaken, UserID: u.ID, Name: u.Name, CreatedAt: u.createdAt(), NeverSignedIn: u.neverSignedIn()}
	if _, err := c.detail(ctx, u.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return taken, nil
		}
		return taken, err
	}
	return state.Owner{Kind: state.AddressPersona, UserID: u.ID}, nil
}

// searchUser looks for the user whose address is email (letter case aside).
// signedIn reports the search's 500, which means someone matching it has
// signed in.
func (c *Client) searchUser(ctx context.Context, email string) (u searchedUser, found, signedIn bool, err error) {
	for page := 1; ; page++ {
		if page > maxSearchPages {
			return u, false, false, fmt.Errorf("GET %s?search=%s: the users search still had more after %d pages of %d; cannot tell whether the address is taken; check that MANA_AUTH_URL (or --auth) points at mana-auth", pathUsers, url.QueryEscape(email), maxSearchPages, searchPageSize)
		}
		var answer searchPage
		path := pathUsers + "?search=" + url.QueryEscape(email) + "&limit=" + strconv.Itoa(searchPageSize)
		if page > 1 {
			path += "&page=" + strconv.Itoa(page)
		}
		r := request{method: http.MethodGet, path: path, auth: true}
		r.read = func(body io.Reader) (err error) {
			answer, err = readSearchPage(r, body)
			return err
		}
		r.answer = func(resp *http.Response, _ []byte) bool {
			signedIn = resp.StatusCode == http.StatusInternalServerError
			return signedIn
		}
		if err := c.do(ctx, r); err != nil || signedIn {
			return u, false, signedIn, err
		}
		for _, u := range *answer.Users {
			if strings.EqualFold(u.Email, email) {
				return u, true, false, nil
			}
		}
		size := answer.Limit
		if size <= 0 {
			size = searchPageSize
		}
		if len(*answer.Users) == 0 || page*size >= *answer.Total {
			return u, false, false, nil
		}
	}
}

// searchedUser is one user of the users search.
type searchedUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// CreatedAt and LastActiveAt are kept as sent: a value that does not
	// read as a time only leaves the user's age unknown.
	CreatedAt    string         `json:"createdAt"`
	LastActiveAt jsontext.Value `json:"lastActiveAt"`
}

// createdAt is when the user was created, or zero when the answer's value
// is not an ISO-8601 time.
func (u searchedUser) createdAt() time.Time {
	t, err := time.Parse(time.RFC3339Nano, u.CreatedAt)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// neverSignedIn: the answer names the user without a last activity, which
// mana-auth leaves out for a user who never signed in.
func (u searchedUser) neverSignedIn() bool {
	return u.ID != "" && (len(u.LastActiveAt) == 0 || string(u.LastActiveAt) == "null")
}

// searchPage is one page of the users search.
type searchPage struct {
	// Pointers tell a missing field from an empty one: an answer without
	// the list must never read as "nobody has it".
	Users *[]searchedUser `json:"users"`
	Total *int            `json:"total"`
	// Limit is the page size the server used (it may cap ours).
	Limit int `json:"limit"`
}

// readSearchPage decodes a users search answer; one without its list or
// total is an error, never "nobody has it".
func readSearchPage(r request, body io.Reader) (searchPage, error) {
	var answer searchPage
	if err := decodeAnswer(r, body, &answer); err != nil {
		return searchPage{}, err
	}
	switch {
	case answer.Users == nil:
		return searchPage{}, decodeError(r, "users", errors.New("missing: cannot tell whether the address is taken"))
	case answer.Total == nil:
		return searchPage{}, decodeError(r, "total", errors.New("missing: cannot tell whether the address is taken"))
	}
	return answer, nil
}

// personaByEmail decides, for an address the search could not show, between
// a persona (the runner signs in as personas) and AddressUndetermined: an
// account that has signed in and is not in the persona list, a person or
// a persona whose auth.personas row was deleted by hand. Either way it is
// never free.
func (c *Client) personaByEmail(ctx context.Context, email string, live []state.LivePersona) (state.OwnerKind, error) {
	if live != nil {
		for _, p := range live {
			if strings.EqualFold(p.Values.Email, email) {
				return state.AddressPersona, nil
			}
		}
		return state.AddressUndetermined, nil
	}
	_, found, err := c.PersonaID(ctx, email)
	switch {
	case err != nil:
		return state.AddressTaken, err
	case !found:
		return state.AddressUndetermined, nil
	}
	return state.AddressPersona, nil
}
