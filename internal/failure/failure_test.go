package failure

import (
	"errors"
	"fmt"
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

type advisedError struct{ what, advice string }

func (e advisedError) Error() string  { return e.what + "; " + e.advice }
func (e advisedError) Advice() string { return e.advice }

// TestListGivesAdviceOnce: failures that end with the same advice give it
// once, on the first of them, also when wrapped.
func TestListGivesAdviceOnce(t *testing.T) {
	a := advisedError{"create a: 500", "try again"}
	b := fmt.Errorf("rollback of b: %w", advisedError{"upsert b: 500", "try again"})
	c := advisedError{"delete c: 400", "c is not a persona"}
	want := "3 failures:\n  * create a: 500; try again\n  * rollback of b: upsert b: 500\n  * delete c: 400; c is not a persona"
	if got := Join(a, b, c).Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
