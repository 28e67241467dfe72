package failure

import (
	"errors"
	"testing"
)

func TestJoin(t *testing.T) {
	a, b := errors.New("create a: 500"), errors.New("create b: refused\nsecond line")
	if err := Join(nil, nil); err != nil {
		t.Errorf("no failures: %v", err)
	}
	if got := Join(nil, a).Error(); got != "create a: 500" {
		t.Errorf("one failure reads %q, want it as it is", got)
	}
	want := "2 failures:\n  * create a: 500\n  * create b: refused\n    second line"
	if got := Join(a, b).Error(); got != want {
		t.Errorf("two failures read\n%s\nwant\n%s", got, want)
	}
	if !errors.Is(Join(a, b), b) {
		t.Error("errors.Is does not see the second failure")
	}
}
