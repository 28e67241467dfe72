package main

import (
	"fmt"

	"github.com/mana/personactl/catalog"
)

// ValidateCmd checks the catalog offline.
type ValidateCmd struct {
	Format string `help:"Output format: text, or github (also print each finding as a GitHub Actions annotation; automatic under GITHUB_ACTIONS=true)." enum:"text,github" default:"text"`
}

// Run loads the catalog and reports every problem; it never touches the network.
func (c *ValidateCmd) Run(g *Globals, s Streams) error {
	g.github = c.Format == "github"
	cat, err := g.settings(s).LoadCatalog()
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "Catalog OK: %d personas (%s)\n", len(cat.Personas), cat.Path)
	return nil
}

// SchemaCmd prints the catalog's JSON Schema.
type SchemaCmd struct{}

// Run writes the schema to standard output.
func (c *SchemaCmd) Run(s Streams) error {
	_, err := s.Out.Write(catalog.Schema())
	return err
}
