package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/mana/personactl/catalog"
)

// ExportCmd writes the live personas as a catalog.
type ExportCmd struct {
	Format string `help:"Catalog format: json or yaml." enum:"json,yaml" default:"json"`
}

// Run reads live and writes the catalog, or names what cannot be one.
func (c *ExportCmd) Run(g *Globals, s Streams) error {
	ctx := context.Background()
	sess, err := open(ctx, g, s, needs{})
	if err != nil {
		return err
	}
	defer sess.close()
	live, err := sess.live.Personas(ctx)
	if err != nil {
		return err
	}
	personas := make([]catalog.Persona, 0, len(live))
	var refused []string
	for _, l := range live {
		if why := catalog.CheckExportable(l.Values); len(why) > 0 {
			refused = append(refused, fmt.Sprintf("%s (user %s): %s", l.Values.Email, l.UserID, strings.Join(why, "; ")))
			continue
		}
		personas = append(personas, l.Values)
	}
	if len(refused) > 0 {
		return fmt.Errorf("%d live persona(s) cannot be written as a catalog entry, so nothing was exported:\n  %s\nfix them through the admin API (or delete them), then export again", len(refused), strings.Join(refused, "\n  "))
	}
	if len(personas) == 0 {
		return fmt.Errorf("no live personas to export; a catalog needs at least one persona")
	}
	var b bytes.Buffer // written whole, or not at all
	if err := catalog.Encode(&b, personas, c.Format); err != nil {
		return err
	}
	_, err = s.Out.Write(b.Bytes())
	return err
}
