package postgres

import "github.com/mana/personactl/state"

// LockKeys returns the two advisory-lock keys of workspace's state lock, so
// that tests can wait on the lock the way the server sees it.
func LockKeys(workspace string) (int32, int32) { return lockNamespace, workspaceKey(workspace) }

// MigrationSQL returns the SQL of schema version v, so that a test can
// build a database as an older personactl left it.
func MigrationSQL(v int) string {
	for _, m := range migrations {
		if m.version == v {
			return m.sql
		}
	}
	return ""
}

// StopWatching stops the watcher of l, a lock from Backend.Lock, as if it
// had not yet woken from its wait: a test can then end the lock's session
// and see what the next write finds.
func StopWatching(l state.Lock) {
	lk := l.(*lock)
	lk.stopWatch()
	<-lk.watchDone
}
