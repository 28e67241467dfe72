package main

import (
	"bytes"
	"context"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/catalog"
)

// ExportCmd writes the live personas as a catalog.
type ExportCmd struct {
	Format string `help:"Catalog format: json or yaml." enum:"json,yaml" default:"json"`
}

// Run reads live and writes the catalog, or names what cannot be one.
func (c *ExportCmd) Run(g *Globals, s Streams) error {
	ctx := context.Background()
	sess, err := open(ctx, g, s, connect.Needs{})
	if err != nil {
		return err
	}
	defer sess.Close()
	live, err := sess.Live.Personas(ctx)
	if err != nil {
		return err
	}
	personas, err := reconcile.CatalogOf(live)
	if err != nil {
		return err
	}
	var b bytes.Buffer // written whole, or not at all
	if err := catalog.Encode(&b, personas, c.Format); err != nil {
		return err
	}
	_, err = s.Out.Write(b.Bytes())
	return err
}
