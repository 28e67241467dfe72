package postgres

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
