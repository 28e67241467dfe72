package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mana/personactl/apply/connect"
)

// AuthCmd groups the commands about the admin token.
type AuthCmd struct {
	Status AuthStatusCmd `cmd:"" help:"Show where the admin token comes from, its subject, role, issuer and expiry, and whether the admin API accepts it (exit 1 when a run could not use it)."`
}

// AuthStatusCmd shows the admin token a run would use.
type AuthStatusCmd struct{}

// Run signs in or reads the token as a run would, asks the admin API once,
// and prints what it found; no secret is shown.
func (c *AuthStatusCmd) Run(g *Globals, s Streams) error {
	st, err := connect.CheckAuth(context.Background(), g.settings(s))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	source := st.Source
	if st.SignedIn {
		source = fmt.Sprintf("a sign-in as %s (%s), renewed as a run goes", st.Email, st.Source)
	}
	fmt.Fprintf(tw, "Source:\t%s\n", source)
	if !st.IsJWT {
		fmt.Fprintf(tw, "Claims:\t(not a JWT: none can be read)\n")
	} else {
		cl := st.Claims
		fmt.Fprintf(tw, "Subject:\t%s\n", orUnset(cl.Subject, cl.Email))
		fmt.Fprintf(tw, "Role claim:\t%s\n", orUnset(cl.Role, ""))
		fmt.Fprintf(tw, "Issuer:\t%s\n", orUnset(cl.Issuer, ""))
		expires := "(none)"
		if !cl.ExpiresAt.IsZero() {
			expires = fmt.Sprintf("%s (%s)", cl.ExpiresAt.UTC().Format(time.RFC3339), time.Until(cl.ExpiresAt).Round(time.Second))
		}
		fmt.Fprintf(tw, "Expires:\t%s\n", expires)
	}
	verdict := "accepts it"
	if st.Problem != nil {
		verdict = "would not work (below)"
	}
	fmt.Fprintf(tw, "Admin API:\t%s\n", verdict)
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.Problem != nil {
		return &exitCode{1, st.Problem}
	}
	return nil
}

// orUnset shows a claim, with the address beside a subject.
func orUnset(v, email string) string {
	switch {
	case v == "":
		return "(none)"
	case email != "":
		return v + " (" + email + ")"
	}
	return v
}
