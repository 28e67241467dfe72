package postgres

// LockKeys returns the two advisory-lock keys of workspace's state lock, so
// that tests can wait on the lock the way the server sees it.
func LockKeys(workspace string) (int32, int32) { return lockNamespace, workspaceKey(workspace) }
