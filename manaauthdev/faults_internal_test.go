package manaauthdev

import (
	"reflect"
	"testing"
	"time"
)

func TestJitterIsDrawnFromTheSeedWithinItsBounds(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		f := newFaults()
		f.Seed(seed)
		f.SetLatency(10 * time.Millisecond)
		f.SetLatencyJitter(20*time.Millisecond, 80*time.Millisecond)
		var out []time.Duration
		for range 50 {
			out = append(out, f.draw().delay)
		}
		return out
	}
	a := delays(3)
	if !reflect.DeepEqual(a, delays(3)) {
		t.Errorf("same seed, different delays")
	}
	if reflect.DeepEqual(a, delays(4)) {
		t.Errorf("another seed drew the same delays")
	}
	distinct := map[time.Duration]bool{}
	for _, d := range a {
		if d < 30*time.Millisecond || d > 90*time.Millisecond {
			t.Errorf("delay %v outside latency 10ms + jitter 20-80ms", d)
		}
		distinct[d] = true
	}
	if len(distinct) < 40 {
		t.Errorf("%d distinct delays of 50: the jitter hardly varies", len(distinct))
	}
}

func TestNewFaultsLeaveTheFirstSourcesDrawsAlone(t *testing.T) {
	outcomes := func(extra bool) []fault {
		f := newFaults()
		f.Seed(5)
		f.SetErrorRate(0.2, 503)
		f.SetLostAnswerRate(0.05)
		f.SetResetRate(0.02)
		if extra {
			f.SetLatencyJitter(time.Millisecond, 2*time.Millisecond)
		}
		var out []fault
		for range 200 {
			d := f.draw()
			out = append(out, fault{reset: d.reset, errorStatus: d.errorStatus, lost: d.lost})
		}
		return out
	}
	if !reflect.DeepEqual(outcomes(false), outcomes(true)) {
		t.Errorf("switching jitter on changed which requests fail: seeded runs would not repeat")
	}
}
