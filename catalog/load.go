package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"
)

// MaxSize is the largest catalog personactl reads, in bytes. Mana's catalog is
// a few kilobytes; the limit stops a wrong path (a database dump, /dev/zero)
// before it is read into memory.
const MaxSize = 32 << 20

// utf8BOM is the byte order mark some Windows editors put at the start of a
// UTF-8 file. It is not content, so it is dropped.
const utf8BOM = "\uFEFF"

// Options says how to read a catalog.
type Options struct {
	// Format is "json", "yaml", or "" to choose by the path's extension:
	// .yaml and .yml are YAML, anything else (and standard input) JSON.
	Format string
	// Strict turns warnings into errors.
	Strict bool
	// Stdin is what the path "-" reads; nil means os.Stdin.
	Stdin io.Reader
}

// Load reads and validates the catalog at path, or at Options.Stdin when path
// is "-". Problems in the catalog come back together as Errors, each located
// by line and column; a file that cannot be read at all is an ordinary error
// (errors.Is works on it) that says what to do.
func Load(path string, opts Options) (*Catalog, error) {
	// Parse checks the format too; checking first spares reading standard input in vain.
	if _, err := formatOf(path, opts.Format); err != nil {
		return nil, err
	}
	data, err := read(path, opts.Stdin)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// Parse validates a catalog held in memory. name is where it came from: it
// names the file in diagnostics and chooses the format as Load's path does.
// Every error is of type Errors, except an unknown Options.Format.
func Parse(name string, data []byte, opts Options) (*Catalog, error) {
	format, err := formatOf(name, opts.Format)
	if err != nil {
		return nil, err
	}
	file := displayName(name)
	// The byte order mark is not content: positions count from after it.
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	root, diags := decode(file, data, format)
	var cat *Catalog
	if root.kind != kindInvalid {
		var found []Diagnostic
		cat, found = validate(file, data, &root)
		diags = append(diags, found...)
	}
	var end *position
	failed := false
	for i := range diags {
		d := &diags[i]
		if d.Line > 1 {
			// yaml.v3 places the empty value of a document that ends in
			// "---" on the line after the last: point at the end instead.
			if end == nil {
				p := newPositionIndex(data).position(len(data))
				end = &p
			}
			if d.Line > end.line {
				d.Line, d.Col = end.line, end.col
			}
		}
		if d.Severity == SeverityWarning && opts.Strict {
			d.Severity = SeverityError
			d.Message += " (an error in strict mode)"
		}
		failed = failed || d.Severity == SeverityError
	}
	slices.SortStableFunc(diags, func(a, b Diagnostic) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	if failed {
		return nil, Errors(diags)
	}
	cat.Path = name
	cat.Warnings = diags
	return cat, nil
}

// formatOf returns "json" or "yaml" for a catalog at name.
func formatOf(name, format string) (string, error) {
	switch strings.ToLower(format) {
	case "json":
		return "json", nil
	case "yaml", "yml":
		return "yaml", nil
	case "":
		if ext := strings.ToLower(filepath.Ext(name)); name != "-" && (ext == ".yaml" || ext == ".yml") {
			return "yaml", nil
		}
		return "json", nil
	}
	return "", fmt.Errorf("unknown catalog format %q; use json or yaml", format)
}

// displayName is how diagnostics name the catalog.
func displayName(name string) string {
	switch name {
	case "-":
		return "<stdin>"
	case "":
		return "<catalog>"
	}
	return name
}

// decode checks what every catalog file must be (not too large, UTF-8, not
// empty; its byte order mark removed) and reads it into a tree in its format. The tree is invalid when the
// file could not be read as a whole.
func decode(file string, data []byte, format string) (node, []Diagnostic) {
	if len(data) > MaxSize {
		return node{}, []Diagnostic{tooLarge(file)}
	}
	if off := invalidUTF8(data); off >= 0 {
		p := newPositionIndex(data).position(off)
		return node{}, []Diagnostic{{Severity: SeverityError, File: file, Line: p.line, Col: p.col,
			Message: fmt.Sprintf("the file is not valid UTF-8 (byte 0x%02x); save it as UTF-8", data[off])}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return node{}, []Diagnostic{emptyFile(file)}
	}
	if format == "yaml" {
		return decodeYAML(file, data)
	}
	return decodeJSON(file, data)
}

// invalidUTF8 returns the offset of the first byte of data that is not UTF-8, or -1.
func invalidUTF8(data []byte) int {
	if utf8.Valid(data) {
		return -1
	}
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			return off
		}
		off += size
	}
	return -1
}

func emptyFile(file string) Diagnostic {
	return Diagnostic{Severity: SeverityError, File: file,
		Message: `the file is empty; a catalog is an object with a "personas" array of at least one persona (personactl schema prints its JSON Schema)`}
}

func tooLarge(file string) Diagnostic {
	return Diagnostic{Severity: SeverityError, File: file,
		Message: fmt.Sprintf("the file is larger than %d MiB, the limit for a catalog; check that this is the catalog (Mana's is a few kilobytes)", MaxSize>>20)}
}

// read returns the bytes of the catalog at path, refusing a file over MaxSize
// before reading it.
func read(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		return readAtMost(stdin, displayName(path), 0)
	}
	// A FIFO would block the open until something writes to it, and a
	// device may never end or act on being opened: both are refused from
	// their metadata, before they are opened.
	info, err := os.Stat(path)
	if err == nil {
		err = checkRegular(path, info)
	}
	if err != nil {
		return nil, openError(err)
	}
	// Opening without blocking and checking again closes the gap in which
	// the path could be swapped for a FIFO after the check above.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, openError(err)
	}
	defer f.Close()
	info, err = f.Stat()
	if err == nil {
		err = checkRegular(path, info)
	}
	if err != nil {
		return nil, err
	}
	if info.Size() > MaxSize {
		return nil, Errors{tooLarge(path)}
	}
	return readAtMost(f, path, info.Size())
}

// openError adds to an error opening the catalog what to do about it.
func openError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w; pass --catalog=PATH or set PERSONACTL_CATALOG to the catalog's path", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w; make the file readable, or run personactl as a user who may read it", err)
	}
	return err
}

// checkRegular refuses anything at path but a regular file (info follows
// symlinks, so a link to a file is fine).
func checkRegular(path string, info fs.FileInfo) error {
	mode := info.Mode()
	if mode.IsRegular() {
		return nil
	}
	if mode.IsDir() {
		return fmt.Errorf("%s is a directory; pass --catalog=PATH naming the catalog file", path)
	}
	what := "not a regular file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeCharDevice != 0:
		what = "a character device"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("%s is %s, not a regular file: personactl reads a catalog from a file, or from standard input with --catalog=-; save the catalog to a file, or pipe it in: ... | personactl validate --catalog=-", path, what)
}

// readAtMost reads r to its end, but no more than one byte past MaxSize: a
// pipe or device has no size to check first, and Parse reports the excess.
// size is how much r is expected to hold, to allocate once.
func readAtMost(r io.Reader, file string, size int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(size) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(r, MaxSize+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return buf.Bytes(), nil
}
