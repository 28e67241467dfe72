package main

import (
	"fmt"
	"github.com/mana/personactl/apply/connect"

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

// SchemaCmd prints the catalog's JSON Schema, or personactl.yaml's.
type SchemaCmd struct {
	Config bool `help:"Print personactl.yaml's JSON Schema instead."`
}

// Run writes the schema to standard output.
func (c *SchemaCmd) Run(s Streams) error {
	schema := catalog.Schema()
	if c.Config {
		schema = connect.ConfigSchema()
	}
	_, err := s.Out.Write(schema)
	return err
}
