package kongdoc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScript checks each script names the program it completes, asks its
// __complete command, and parses in its shell (when installed: the
// real-shell tests of the program press <TAB> in each).
func TestScript(t *testing.T) {
	tests := []struct {
		shell    string
		check    []string // the shell's flag that parses a script without running it
		register string   // how the script binds itself to the program
	}{
		{"bash", []string{"-n"}, "complete -F _my-tool_complete my-tool"},
		{"zsh", []string{"-n"}, "compdef _my-tool my-tool"},
		{"fish", []string{"--no-execute"}, "complete -c my-tool -f -a '(__my-tool_complete)'"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			script, err := Script(tt.shell, "my-tool")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(script, "{{") {
				t.Errorf("the %s script keeps a placeholder:\n%s", tt.shell, script)
			}
			for _, want := range []string{" __complete -- ", tt.register, ":files"} {
				if !strings.Contains(script, want) {
					t.Errorf("the %s script lacks %q:\n%s", tt.shell, want, script)
				}
			}
			path, err := exec.LookPath(tt.shell)
			if err != nil {
				if os.Getenv("PERSONACTL_REQUIRE_SHELLS") == "1" {
					t.Fatalf("%s is not installed and PERSONACTL_REQUIRE_SHELLS=1: install it (apt-get install %s)", tt.shell, tt.shell)
				}
				t.Skipf("%s is not installed; the script's syntax is unchecked (PERSONACTL_REQUIRE_SHELLS=1 makes this a failure)", tt.shell)
			}
			file := filepath.Join(t.TempDir(), "my-tool."+tt.shell)
			if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(path, append(tt.check, file)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Errorf("%s %s: %v\n%s", tt.shell, strings.Join(tt.check, " "), err, out.String())
			}
		})
	}
}

func TestScriptUnknownShell(t *testing.T) {
	script, err := Script("powershell", "my-tool")
	if err == nil || !strings.Contains(err.Error(), `"powershell"`) || !strings.Contains(err.Error(), "bash, zsh or fish") {
		t.Errorf("Script(powershell) = %q, %v; want an error naming the shell and the ones there are", script, err)
	}
}
