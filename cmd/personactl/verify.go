package main

import (
	"context"
	"fmt"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/plan"
)

// VerifyCmd logs in as each persona the way the runner does.
type VerifyCmd struct {
	Target     []string `help:"Verify only this persona, in any letter case; repeatable, or several separated by commas. An empty address is refused." placeholder:"EMAIL" sep:"none" predictor:"address"`
	Format     string   `help:"Output format: text, json or markdown." enum:"text,json,markdown" default:"text"`
	ForceLogin bool     `help:"Log in even as a persona whose recorded fingerprint says its password came from another seed secret (a failed login counts toward mana-auth's lockout: 5 in 15 minutes lock the address for 30)."`
}

// Validate refuses an empty or blank --target before anything is read.
func (c *VerifyCmd) Validate() error { return plan.CheckAddresses("target", addresses(c.Target)) }

// Run verifies and reports.
func (c *VerifyCmd) Run(g *Globals, s Streams) error {
	ctx := context.Background()
	sess, err := open(ctx, g, s, connect.Needs{Catalog: true, Secret: true, Writes: true})
	if err != nil {
		return err
	}
	defer sess.Close()
	v, err := sess.Loop.Verify(ctx, reconcile.VerifyRequest{Auth: sess.Client, Emails: addresses(c.Target), Record: true, ForceLogin: c.ForceLogin, LockTimeout: g.LockTimeout})
	if v != nil {
		if rerr := report.Verification(s.Out, v, c.Format); rerr != nil {
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
