package state

import (
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Errors reports every failure of errs together (go-multierror), nil ones
// left out: one alone reads as itself, several as a count and one line
// each, never go-multierror's "1 error occurred". It returns nil when no
// failure is left.
func Errors(errs ...error) error {
	var all *multierror.Error
	for _, err := range errs {
		if err != nil {
			all = multierror.Append(all, err)
		}
	}
	if all == nil {
		return nil
	}
	all.ErrorFormat = formatErrors
	return all
}

func formatErrors(list []error) string {
	if len(list) == 1 {
		return list[0].Error()
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(list)) + " failures:")
	for _, e := range list {
		b.WriteString("\n  * ")
		b.WriteString(strings.ReplaceAll(e.Error(), "\n", "\n    "))
	}
	return b.String()
}
