package connect

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyConnectAndCommandsKnowTheAdapters: the loop, apply and plan see
// state's interfaces; the concrete adapters are imported only by this
// package and the commands (tests aside), so that each could be replaced
// without touching the spine.
func TestOnlyConnectAndCommandsKnowTheAdapters(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/mana/personactl/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	adapters := []string{"/state/adminapi", "/state/authdb", "/state/file", "/state/postgres"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if strings.HasSuffix(pkg, "/apply/connect") || strings.Contains(pkg, "/cmd/") || strings.Contains(pkg, "/state/") {
			continue
		}
		for _, imp := range fields[1:] {
			for _, a := range adapters {
				if strings.HasSuffix(imp, "personactl"+a) {
					t.Errorf("%s imports the adapter %s; only apply/connect and the commands may", pkg, imp)
				}
			}
		}
	}
}
