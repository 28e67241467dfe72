package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix marks the temporary files WriteAtomic creates beside their target.
const tempInfix = ".tmp-"

// WriteAtomic replaces path with data so that a reader, or a crash, sees
// either the old content or the new one, never a mix: the data goes to a
// temporary file in the same directory, is flushed to disk, renamed over
// path, and the directory is flushed so that the rename itself survives a
// power loss. The file gets mode perm. A crash may leave a temporary file
// named path + ".tmp-" + digits beside path.
func WriteAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("create a temporary file beside %s: %w; check that the directory is writable", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w; check free disk space", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: flush to disk: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = syncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// syncDir flushes a directory's entries, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush directory %s: %w", dir, err)
	}
	return nil
}

// removeLeftovers deletes temporary files that a run killed in the middle of
// WriteAtomic left beside path. Only a lock holder may call it: another
// holder's temporary file would be in use.
func removeLeftovers(path string) error {
	dir, base := filepath.Dir(path), filepath.Base(path)+tempInfix
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s for leftover temporary files: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("remove leftover temporary file: %w", err)
			}
		}
	}
	return nil
}
