//go:build race

package adminapi_test

// raceEnabled: the race detector slows the HTTP round trips about tenfold.
const raceEnabled = true
