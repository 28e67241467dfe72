package adminapi

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/state"
)

// Personas reads every live persona: the list, then each persona's detail
// (the only place its prompt and module mix are), with at most Parallelism
// requests in flight. A persona deleted between the two reads is left out;
// one whose detail is over MaxOtherBody is kept as the list shows it,
// marked Unreadable.
// The result is sorted by email. On failure it stops sending new requests
// and reports every error it met.
func (c *Client) Personas(ctx context.Context) ([]state.LivePersona, error) {
	return c.personas(ctx, nil)
}

// PersonasOf reads the live personas with these addresses (letter case
// aside): the list, then their details alone. An address no persona has is
// left out.
func (c *Client) PersonasOf(ctx context.Context, emails []string) ([]state.LivePersona, error) {
	want := make(map[string]bool, len(emails))
	for _, e := range emails {
		want[strings.ToLower(e)] = true
	}
	return c.personas(ctx, func(p listEntry) bool { return want[strings.ToLower(p.Email)] })
}

// personas reads the list, then the detail of each entry keep keeps (every
// entry when keep is nil).
func (c *Client) personas(ctx context.Context, keep func(listEntry) bool) ([]state.LivePersona, error) {
	list, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	if keep != nil {
		kept := list[:0]
		for _, p := range list {
			if keep(p) {
				kept = append(kept, p)
			}
		}
		list = kept
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		// results[i] stays zero (no UserID) for a persona that is gone.
		results = make([]state.LivePersona, len(list))
		mu      sync.Mutex
		errs    = make(map[int]error)
		wg      sync.WaitGroup
		next    atomic.Int64
	)
	// A fixed set of workers rather than a goroutine per persona: each
	// new goroutine grows its stack again for decoding, which cost more
	// than the scheduling at 10,000 personas.
	for range min(c.parallelism, len(list)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(list) || ctx.Err() != nil {
					return // all asked, or a request failed (or the caller gave up): start no more
				}
				d, err := c.detail(ctx, list[i].UserID)
				var tooLarge *BodyTooLargeError
				switch {
				case err == nil:
					results[i] = merge(list[i], d)
				case errors.As(err, &tooLarge):
					// A persona stored with a huge prompt: the plan names it,
					// and the rest of the read goes on.
					results[i] = merge(list[i], detailAnswer{})
					results[i].Unreadable = true
				case errors.Is(err, ErrNotFound):
					// Deleted since the list was read: not live any more.
				case ctx.Err() != nil && errors.Is(err, context.Canceled):
					// Stopped because another request failed; that one is reported.
				default:
					mu.Lock()
					errs[i] = err
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, combine(errs)
	}
	if err := ctx.Err(); err != nil {
		// Only the caller's context can have ended without an error recorded.
		return nil, err
	}

	out := results[:0]
	for _, p := range results {
		if p.UserID != "" {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Values.Email < out[j].Values.Email })
	return out, nil
}

// combine reports errors in list order, each distinct message once.
func combine(errs map[int]error) error {
	idx := make([]int, 0, len(errs))
	for i := range errs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var all []error
	seen := make(map[string]bool)
	for _, i := range idx {
		if msg := errs[i].Error(); !seen[msg] {
			seen[msg] = true
			all = append(all, errs[i])
		}
	}
	return failure.Join(all...)
}

// Detail reads one persona by user id; an unknown id (or a user who is not a
// persona) is an error matching ErrNotFound. Actions7d is not part of the
// detail and stays 0.
func (c *Client) Detail(ctx context.Context, userID string) (state.LivePersona, error) {
	d, err := c.detail(ctx, userID)
	if err != nil {
		return state.LivePersona{}, err
	}
	return merge(listEntry{UserID: userID}, d), nil
}

// detailAnswer is what personactl keeps of a detail answer: the persona and
// how many actions and ratings it has, never the actions themselves.
type detailAnswer struct {
	persona  wirePersona
	actions  int
	feedback int
}

func (c *Client) detail(ctx context.Context, userID string) (detailAnswer, error) {
	if userID == "" {
		return detailAnswer{}, errors.New("persona detail: empty user id")
	}
	var d detailAnswer
	r := request{method: http.MethodGet, path: pathPersonas + "/" + url.PathEscape(userID), auth: true}
	r.read = func(body io.Reader) error {
		d = detailAnswer{}
		return readDetail(r, body, &d)
	}
	err := c.do(ctx, r)
	return d, err
}

// decoders keep their buffer and the strings they have seen (a persona's
// archetype, a module's name) from one answer to the next: a fresh decoder
// allocated ten times what it decodes.
var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// decodeAnswer decodes the JSON value at the start of body into v, taking
// what encoding/json takes (see wireOptions); what follows the value is
// not read.
func decodeAnswer(r request, body io.Reader, v any) error {
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(body, wireOptions)
	err := jsonv2.UnmarshalDecode(dec, v, wireOptions)
	dec.Reset(http.NoBody)
	decoders.Put(dec)
	if err != nil {
		return wireError(r, err)
	}
	return nil
}

// readDetail decodes {"persona":{…},"recentActions":[…],"feedbackByModule":[…]},
// keeping the number of actions, not the actions.
func readDetail(r request, body io.Reader, d *detailAnswer) error {
	var answer struct {
		Persona       *wirePersona `json:"persona"`
		RecentActions []struct{}   `json:"recentActions"`
		// avgRating is in fact the module's number of ratings.
		FeedbackByModule []struct {
			AvgRating float64 `json:"avgRating"`
		} `json:"feedbackByModule"`
	}
	if err := decodeAnswer(r, body, &answer); err != nil {
		return err
	}
	if answer.Persona == nil {
		return decodeError(r, "persona", errors.New("missing"))
	}
	d.persona = *answer.Persona
	d.actions = len(answer.RecentActions)
	for _, fb := range answer.FeedbackByModule {
		d.feedback += int(math.Round(fb.AvgRating))
	}
	return nil
}

// asDecodeError keeps an error that already says where it happened and
// explains any other.
func asDecodeError(r request, field string, err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return err
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return decodeError(r, joinField(field, fe.field), fe.err)
	}
	return decodeError(r, field, err)
}

// fieldError is a decoding problem at a JSON path, found by a decoder that
// has no request at hand; asDecodeError places it.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

// list reads the persona list.
func (c *Client) list(ctx context.Context) ([]listEntry, error) {
	var out []listEntry
	r := request{method: http.MethodGet, path: pathPersonas, auth: true, limit: MaxListBody}
	r.read = func(body io.Reader) (err error) {
		out, err = readList(r, body)
		return err
	}
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	for _, p := range out {
		c.noteCase(p.Email)
	}
	return out, nil
}

// listAnswer is {"personas":[…]}; null reads as an empty list, an absent
// list as an error.
type listAnswer struct {
	Personas wireList `json:"personas"`
}

type wireList struct {
	entries []listEntry
	present bool
}

func (l *wireList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	l.present = true
	return jsonv2.UnmarshalDecode(dec, &l.entries)
}

// readList decodes {"personas":[…]}, each entry with its user id.
func readList(r request, body io.Reader) ([]listEntry, error) {
	var answer listAnswer
	if err := decodeAnswer(r, body, &answer); err != nil {
		return nil, err
	}
	if !answer.Personas.present {
		return nil, decodeError(r, "personas", errors.New("missing"))
	}
	for i, p := range answer.Personas.entries {
		if p.UserID == "" {
			return nil, decodeError(r, "personas["+strconv.Itoa(i)+"].userId", errors.New("missing"))
		}
	}
	return answer.Personas.entries, nil
}

// merge joins a list entry with its detail: the detail's values (read
// later, so fresher), the list's count of the last seven days' actions.
func merge(entry listEntry, d detailAnswer) state.LivePersona {
	p := d.persona
	mix := map[string]float64(p.ModuleMix)
	created := p.CreatedAt
	if !created.valid {
		created = entry.CreatedAt
	}
	email := p.Email
	if email == "" {
		email = entry.Email
	}
	return state.LivePersona{
		UserID: entry.UserID,
		Values: catalog.Persona{
			Name:         p.Name,
			Email:        email,
			Archetype:    p.Archetype,
			SystemPrompt: p.SystemPrompt,
			ModuleMix:    mix,
			TickCadence:  p.TickCadence,
		},
		CreatedAt: created.t,
		History: state.History{
			Actions7d:    entry.Actions7d,
			Actions:      d.actions,
			Feedback:     d.feedback,
			LastActiveAt: p.LastActiveAt.ptr(),
		},
	}
}

// PersonaID finds the user id of the persona with email (letter case aside)
// with the list alone, one request: enough for a rollback that must delete a
// persona whose create answer was lost.
func (c *Client) PersonaID(ctx context.Context, email string) (userID string, found bool, err error) {
	list, err := c.list(ctx)
	if err != nil {
		return "", false, err
	}
	for _, p := range list {
		if strings.EqualFold(p.Email, email) {
			return p.UserID, true, nil
		}
	}
	return "", false, nil
}
