package connect

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// OpenLog returns the debug log the environment asks for: PERSONACTL_LOG
// names its level (debug or info; debug, --debug, is every request and
// statement besides the settings, the lock and the journal),
// PERSONACTL_LOG_FORMAT its format (text, or json for one JSON object a
// line), PERSONACTL_LOG_PATH a file it is appended to (created readable by
// its owner only) instead of stderr. Unasked, the log discards everything.
// closeLog closes the file.
func OpenLog(lookup func(string) (string, bool), debug bool, stderr io.Writer) (log *slog.Logger, closeLog func() error, err error) {
	get := func(key string) string {
		v, _ := lookup(key)
		return strings.TrimSpace(v)
	}
	level := slog.LevelDebug
	switch v := get("PERSONACTL_LOG"); strings.ToLower(v) {
	case "":
		if !debug {
			return slog.New(slog.DiscardHandler), func() error { return nil }, nil
		}
	case "debug":
	case "info":
		if !debug {
			level = slog.LevelInfo
		}
	default:
		return nil, nil, fmt.Errorf("PERSONACTL_LOG=%q: the levels are debug and info; set one of them, or unset it", v)
	}
	format := strings.ToLower(get("PERSONACTL_LOG_FORMAT"))
	if format != "" && format != "text" && format != "json" {
		return nil, nil, fmt.Errorf("PERSONACTL_LOG_FORMAT=%q: the formats are text and json; set one of them, or unset it for text", get("PERSONACTL_LOG_FORMAT"))
	}
	w, closeLog := stderr, func() error { return nil }
	if path := get("PERSONACTL_LOG_PATH"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("PERSONACTL_LOG_PATH: %w; name a file personactl may append to, or unset it to log to standard error", err)
		}
		w, closeLog = f, f.Close
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), closeLog, nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), closeLog, nil
}
