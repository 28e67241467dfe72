package connect

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyConnectAndCommandsKnowTheAdapters: the loop, apply and plan see
// state's interfaces; the concrete adapters are imported only by this
// package and the commands (tests aside), not even by one another, so that
// each could be replaced without touching the spine.
func TestOnlyConnectAndCommandsKnowTheAdapters(t *testing.T) {
	const module = "github.com/mana/personactl"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	adapters := map[string]bool{module + "/state/adminapi": true, module + "/state/authdb": true, module + "/state/file": true, module + "/state/postgres": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if pkg == module+"/apply/connect" || strings.HasPrefix(pkg, module+"/cmd/") {
			continue
		}
		for _, imp := range fields[1:] {
			if adapters[imp] {
				t.Errorf("%s imports the adapter %s; only apply/connect and the commands may", pkg, imp)
			}
		}
	}
}
