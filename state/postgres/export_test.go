package postgres

import "github.com/mana/personactl/state"

// LockKeys returns the two advisory-lock keys of workspace's state lock, so
// that tests can wait on the lock the way the server sees it.
func LockKeys(workspace string) (int32, int32) { return lockNamespace, workspaceKey(workspace) }

// StopWatching stops the watcher of l, a lock from Backend.Lock, as if it
// had not yet woken from its wait: a test can then end the lock's session
// and see what the next write finds.
func StopWatching(l state.Lock) {
	lk := l.(*lock)
	lk.stopWatch()
	<-lk.watchDone
}
