//go:build !race

package adminapi_test

const raceEnabled = false
