package plan

import (
	"fmt"
	"io"
)

// Render writes p in the format the command line names: "text" (or "",
// or "github", which is text), "json" or "markdown". color colours text.
func Render(w io.Writer, p *Plan, format string, color bool) error {
	switch format {
	case "", "text", "github":
		return RenderText(w, p, TextOptions{Color: color})
	case "json":
		return RenderJSON(w, p)
	case "markdown":
		return RenderMarkdown(w, p, MarkdownOptions{})
	}
	return fmt.Errorf("unknown plan format %q; use text, json or markdown", format)
}
