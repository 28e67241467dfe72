package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mana/personactl/apply/reconcile"
)

// VerifyCmd logs in as each persona the way the runner does.
type VerifyCmd struct {
	Target []string `help:"Verify only this persona; repeatable." placeholder:"EMAIL"`
	Format string   `help:"Output format: text, json or markdown." enum:"text,json,markdown" default:"text"`
}

// Run verifies and reports.
func (c *VerifyCmd) Run(g *Globals, s Streams) error {
	ctx := context.Background()
	sess, err := open(ctx, g, s, needs{catalog: true, secret: true, writes: true})
	if err != nil {
		return err
	}
	defer sess.close()
	v, err := sess.loop.Verify(ctx, reconcile.VerifyRequest{Auth: sess.client, Emails: lower(c.Target), Record: true, LockTimeout: g.LockTimeout})
	if v != nil {
		if rerr := renderVerification(s.Out, v, c.Format); rerr != nil {
			return rerr
		}
	}
	switch {
	case err != nil:
		return err
	case v.Unknown():
		return &exitCode{1, fmt.Errorf("the outcome of some logins is not known (above); run personactl verify again later")}
	case !v.Ready():
		return &exitCode{code: 2}
	}
	return nil
}

func lower(emails []string) []string {
	out := make([]string, len(emails))
	for i, e := range emails {
		out[i] = strings.ToLower(e)
	}
	return out
}

var readinessWords = map[string]string{
	"ready":          "ready",
	"wrong_password": "wrong password",
	"locked":         "locked",
	"not_persona":    "not a persona",
	"not_live":       "not live",
	"unknown":        "unknown",
	"error":          "error",
}

// renderVerification writes v as text, JSON or a Markdown table.
func renderVerification(w io.Writer, v *reconcile.Verification, format string) error {
	counts := map[string]int{}
	for _, r := range v.Personas {
		counts[r.Status]++
	}
	var parts []string
	for _, st := range []string{"ready", "wrong_password", "locked", "not_persona", "not_live", "unknown", "error"} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], readinessWords[st]))
		}
	}
	summary := fmt.Sprintf("Verified %d persona(s): %s.", len(v.Personas), strings.Join(parts, ", "))
	if len(v.Personas) == 0 {
		summary = "No persona to verify."
	}
	switch format {
	case "json":
		return writeJSONTo(w, v)
	case "markdown":
		fmt.Fprintf(w, "**personactl verify:** %s\n\n| persona | can the runner log in? | detail |\n|---|---|---|\n", summary)
		for _, r := range v.Personas {
			fmt.Fprintf(w, "| `%s` | %s | %s |\n", r.Email, readinessWords[r.Status], strings.ReplaceAll(r.Detail, "|", "\\|"))
		}
		return nil
	}
	for _, r := range v.Personas {
		line := fmt.Sprintf("%s: %s", r.Email, readinessWords[r.Status])
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		fmt.Fprintln(w, line)
	}
	if v.Recorded > 0 {
		fmt.Fprintf(w, "Recorded the seed secret's fingerprint for %d persona(s).\n", v.Recorded)
	}
	fmt.Fprintln(w, summary)
	return nil
}
