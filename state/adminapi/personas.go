package adminapi

import (
	"bytes"
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

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/internal/fastjson"
)

// Personas reads every live persona: the list, then each persona's detail
// (the only place its prompt and module mix are), with at most Parallelism
// requests in flight. A persona deleted between the two reads is left out.
// The result is sorted by email. On failure it stops sending new requests
// and reports every error it met.
func (c *Client) Personas(ctx context.Context) ([]state.LivePersona, error) {
	list, err := c.list(ctx, nil)
	if err != nil {
		return nil, err
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
				switch {
				case err == nil:
					results[i] = merge(list[i], d)
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
	return state.Errors(all...)
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
		return readDetailFast(r, body, &d)
	}
	err := c.do(ctx, r)
	return d, err
}

// detailBuffers holds the buffers detail answers are read into.
var detailBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readDetailFast reads a detail answer (at most MaxOtherBody, a few KiB as
// a rule) whole and decodes it in one pass (fastjson), several times
// quicker than the streaming readDetail; an answer it cannot decode goes to
// readDetail, which decides it and says precisely what is wrong.
func readDetailFast(r request, body io.Reader, d *detailAnswer) error {
	buf := detailBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 256<<10 {
			buf.Reset()
			detailBuffers.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	var answer struct {
		Persona       *wirePersona `json:"persona"`
		RecentActions []struct{}   `json:"recentActions"`
		// avgRating is in fact the module's number of ratings.
		FeedbackByModule []struct {
			AvgRating float64 `json:"avgRating"`
		} `json:"feedbackByModule"`
	}
	if err := fastjson.Unmarshal(buf.Bytes(), &answer); err != nil || answer.Persona == nil {
		return readDetail(r, bytes.NewReader(buf.Bytes()), d)
	}
	d.persona = *answer.Persona
	d.actions = len(answer.RecentActions)
	for _, fb := range answer.FeedbackByModule {
		d.feedback += int(math.Round(fb.AvgRating))
	}
	return nil
}

// readDetail decodes {"persona":{…},"recentActions":[…],"feedbackByModule":[…]}
// from a stream, counting the actions instead of keeping them.
//
// A key given twice counts as encoding/json counts it (readDetailFast must
// agree): the last array wins, and a second persona object is decoded into
// the first.
func readDetail(r request, body io.Reader, d *detailAnswer) error {
	w := newObjectWalker(body)
	var p *wirePersona
	err := w.walk(func(key string) (bool, error) {
		// Keys match without regard to letter case, as encoding/json
		// matches them.
		switch {
		case strings.EqualFold(key, "persona"):
			if err := w.dec.Decode(&p); err != nil {
				return true, decodeError(r, "persona", err)
			}
		case strings.EqualFold(key, "recentActions"):
			d.actions = 0
			err := w.array(func(i int) error {
				var action struct{} // an object; its fields are not needed
				if err := w.dec.Decode(&action); err != nil {
					return decodeError(r, "recentActions["+strconv.Itoa(i)+"]", err)
				}
				d.actions++
				return nil
			})
			if err != nil {
				return true, asDecodeError(r, "recentActions", err)
			}
		case strings.EqualFold(key, "feedbackByModule"):
			d.feedback = 0
			err := w.array(func(i int) error {
				// avgRating is in fact the module's number of ratings.
				var fb struct {
					AvgRating float64 `json:"avgRating"`
				}
				if err := w.dec.Decode(&fb); err != nil {
					return decodeError(r, "feedbackByModule["+strconv.Itoa(i)+"]", err)
				}
				d.feedback += int(math.Round(fb.AvgRating))
				return nil
			})
			if err != nil {
				return true, asDecodeError(r, "feedbackByModule", err)
			}
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return asDecodeError(r, "", err)
	}
	if p == nil {
		return decodeError(r, "persona", errors.New("missing"))
	}
	d.persona = *p
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

// list reads the persona list from a stream, entry by entry. When visit is
// set, entries are handed to it instead of being kept; it returns false to
// stop reading.
func (c *Client) list(ctx context.Context, visit func(listEntry) bool) ([]listEntry, error) {
	var out []listEntry
	r := request{method: http.MethodGet, path: pathPersonas, auth: true, limit: MaxListBody}
	r.read = func(body io.Reader) error {
		out = out[:0]
		return readList(r, body, func(p listEntry) bool {
			c.noteCase(p.Email)
			if visit != nil {
				return visit(p)
			}
			out = append(out, p)
			return true
		})
	}
	err := c.do(ctx, r)
	return out, err
}

// readList decodes {"personas":[…]} from a stream, entry by entry, handing
// each to each until it returns false; the rest is skipped unread.
func readList(r request, body io.Reader, each func(listEntry) bool) error {
	w := newObjectWalker(body)
	hasList, stop := false, false
	err := w.walk(func(key string) (bool, error) {
		if key != "personas" || stop {
			return false, nil
		}
		hasList = true
		err := w.array(func(i int) error {
			if stop {
				return w.skip()
			}
			var p listEntry
			if err := w.dec.Decode(&p); err != nil {
				return decodeError(r, "personas["+strconv.Itoa(i)+"]", err)
			}
			if p.UserID == "" {
				return decodeError(r, "personas["+strconv.Itoa(i)+"].userId", errors.New("missing"))
			}
			stop = !each(p)
			return nil
		})
		if err != nil {
			return true, asDecodeError(r, "personas", err)
		}
		return true, nil
	})
	if err != nil {
		return asDecodeError(r, "", err)
	}
	if !hasList {
		return decodeError(r, "personas", errors.New("missing"))
	}
	return nil
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
		CreatedAt:    created.t,
		LastActiveAt: p.LastActiveAt.ptr(),
		Actions7d:    entry.Actions7d,
		Actions:      d.actions,
		Feedback:     d.feedback,
	}
}

// PersonaID finds the user id of the persona with email (letter case aside)
// with the list alone, one request: enough for a rollback that must delete a
// persona whose create answer was lost.
func (c *Client) PersonaID(ctx context.Context, email string) (userID string, found bool, err error) {
	_, err = c.list(ctx, func(p listEntry) bool {
		if strings.EqualFold(p.Email, email) {
			userID, found = p.UserID, true
			return false
		}
		return true
	})
	if err != nil {
		return "", false, err
	}
	return userID, found, nil
}
