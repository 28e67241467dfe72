package faults

import (
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestFromEnv: no variable, no hook; a kill spec is checked before anything
// runs, so that a mistyped test fails at once rather than never kill.
func TestFromEnv(t *testing.T) {
	h, err := FromEnv(env(nil))
	if err != nil || h.Writer != nil || h.Backend != nil || h.Live != nil {
		t.Errorf("without variables: %+v, %v; want no hook", h, err)
	}
	h, err = FromEnv(env(map[string]string{"PERSONACTL_CRASHTEST": "step"}))
	if err != nil || h.Writer == nil || h.Backend != nil {
		t.Errorf("PERSONACTL_CRASHTEST=step: %+v, %v; want the writer hook alone", h, err)
	}
	h, err = FromEnv(env(map[string]string{"PERSONACTL_CRASHTEST_KILL": "save:2"}))
	if err != nil || h.Writer == nil || h.Backend == nil || h.Live == nil {
		t.Errorf("PERSONACTL_CRASHTEST_KILL=save:2: %+v, %v; want every hook", h, err)
	}
	for spec, want := range map[string]string{"save": "PHASE:N", "save:0": "PHASE:N", "save:x": "PHASE:N", "lunch:3": "unknown phase"} {
		if _, err := FromEnv(env(map[string]string{"PERSONACTL_CRASHTEST_KILL": spec})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("PERSONACTL_CRASHTEST_KILL=%s: %v; want an error saying %q", spec, err, want)
		}
	}
}
