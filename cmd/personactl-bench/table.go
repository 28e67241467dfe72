package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/apply"
)

// maxRSS is the most any row's process may hold resident.
const maxRSS = 150 << 20

// row is one line of the table: personactl's side and its lower bound,
// measured in the same run against the same server.
type row struct {
	Work   string
	Store  string // "memory" or "postgres"
	N      int
	Ours   measure
	Lower  measure
	Bound  string // what the lower bound does
	Target target
	Err    error
}

// target is what a row must reach; the zero target is none.
type target struct {
	ratio float64       // at most this many times the lower bound
	wall  time.Duration // under this wall time
}

func ratioTarget(r float64) target      { return target{ratio: r} }
func wallTarget(d time.Duration) target { return target{wall: d} }

func (t target) String() string {
	switch {
	case t.ratio > 0:
		return fmt.Sprintf("≤ %g×", t.ratio)
	case t.wall > 0:
		return "< " + shortDuration(t.wall)
	}
	return ""
}

// ratio is personactl's wall time over its lower bound's; 0 without one.
func (r row) ratio() float64 {
	if r.Lower.Wall <= 0 {
		return 0
	}
	return float64(r.Ours.Wall) / float64(r.Lower.Wall)
}

// requestsMatch reports whether both sides sent the same requests, route
// by route.
func (r row) requestsMatch() bool {
	return maps.Equal(r.Ours.Requests, r.Lower.Requests)
}

// verdict says whether the row met its target and the memory bound.
func (r row) verdict() string {
	if r.Err != nil {
		return "ERROR"
	}
	var miss []string
	switch t := r.Target; {
	case t.ratio > 0 && r.ratio() > t.ratio:
		miss = append(miss, "missed "+t.String())
	case t.wall > 0 && r.Ours.Wall >= t.wall:
		miss = append(miss, "missed "+t.String())
	}
	if r.Ours.RSS >= maxRSS {
		miss = append(miss, "RSS ≥ 150 MB")
	}
	if !r.requestsMatch() {
		miss = append(miss, "requests differ")
	}
	if len(miss) > 0 {
		return strings.Join(miss, ", ")
	}
	if r.Target != (target{}) {
		return "ok " + r.Target.String()
	}
	return "ok"
}

// failed reports whether the run must exit non-zero: an error, or the two
// sides not doing the same work.
func (r row) failed() bool { return r.Err != nil || !r.requestsMatch() }

var columns = []string{"work", "store", "personas", "wall", "CPU", "peak RSS", "requests", "bound wall", "bound CPU", "bound RSS", "bound requests", "ratio", "verdict"}

// render writes the table as Markdown (aligned, so it reads in a terminal
// and pastes into docs/performance.md), then the lower bounds and any errors.
func render(w io.Writer, rows []row) {
	cells := [][]string{columns}
	for _, r := range rows {
		c := []string{r.Work, r.Store, apply.Thousands(r.N),
			shortDuration(r.Ours.Wall), shortDuration(r.Ours.CPU), mib(r.Ours.RSS), apply.Thousands(r.Ours.total()),
			shortDuration(r.Lower.Wall), shortDuration(r.Lower.CPU), mib(r.Lower.RSS), apply.Thousands(r.Lower.total()), fmt.Sprintf("%.2f", r.ratio())}
		if r.Err != nil {
			for i := 3; i < len(c); i++ {
				c[i] = "-"
			}
		}
		cells = append(cells, append(c, r.verdict()))
	}
	widths := make([]int, len(columns))
	for _, c := range cells {
		for i, s := range c {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	cells = slices.Insert(cells, 1, nil) // the separator, under the header
	for _, c := range cells {
		fmt.Fprint(w, "|")
		for i, width := range widths {
			numeric := i >= 2 && i < len(columns)-1 // right-aligned
			switch {
			case c == nil && numeric:
				fmt.Fprint(w, strings.Repeat("-", width+1)+":|")
			case c == nil:
				fmt.Fprint(w, strings.Repeat("-", width+2)+"|")
			case numeric: // fmt pads to a width in characters
				fmt.Fprintf(w, " %*s |", width, c[i])
			default:
				fmt.Fprintf(w, " %-*s |", width, c[i])
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nLower bounds (same server process, same keep-alive transport and parallelism, measured in this run):")
	listed := map[string]bool{}
	for _, r := range rows {
		if work, _, _ := strings.Cut(r.Work, ","); !listed[work] {
			listed[work] = true
			fmt.Fprintf(w, "  %s: %s\n", work, r.Bound)
		}
	}
	fmt.Fprintln(w, "wall and CPU (user+sys) and peak RSS are the child process's own, from the OS; requests are counted at the server.")
	fmt.Fprintln(w, "Each side of a server row is its run of median wall time, its runs alternating with the other side's (--repeat for plans, --write-repeat for apply and destroy).")
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(w, "\nError in %s, %s, %s personas: %v\n", r.Work, r.Store, apply.Thousands(r.N), r.Err)
		} else if !r.requestsMatch() {
			fmt.Fprintf(w, "\n%s, %s, %s personas: personactl sent %s, the lower bound %s\n", r.Work, r.Store, apply.Thousands(r.N), routes(r.Ours.Requests), routes(r.Lower.Requests))
		}
	}
}

// routes lists request counts by route.
func routes(counts map[string]int) string {
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	if len(parts) == 0 {
		return "no requests"
	}
	return strings.Join(parts, ", ")
}

// shortDuration prints a duration with three significant digits or so.
func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// mib prints bytes as MB (2^20).
func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
}
