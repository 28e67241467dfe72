package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunPrintsItsAddressFirstAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--admin-token", "adm", "--user-token", "usr", "--quiet"}, outW, io.Discard)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	url := lines.Text()
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("first line = %q, want the address listened on", url)
	}
	go io.Copy(io.Discard, outR)

	req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/admin/personas", nil)
	req.Header.Set("Authorization", "Bearer adm")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"personas":[]}` {
		t.Fatalf("GET list with --admin-token: %d %s", resp.StatusCode, body)
	}

	cancel() // as SIGINT does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
}

func TestRunPrintsGeneratedTokensAfterTheAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen=127.0.0.1:0", "--quiet"}, outW, io.Discard)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	var got []string
	for len(got) < 3 && lines.Scan() {
		got = append(got, lines.Text())
	}
	cancel()
	go io.Copy(io.Discard, outR)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "http://127.0.0.1:") ||
		!strings.HasPrefix(got[1], "MANA_ADMIN_JWT=") || !strings.HasPrefix(got[2], "MANA_USER_JWT=") {
		t.Fatalf("output = %q, want the address, then MANA_ADMIN_JWT=… and MANA_USER_JWT=…", got)
	}
}

func TestRunRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:3001", ":3001", "192.0.2.1:3001", "example.com:3001", "[::]:3001"} {
		err := run(context.Background(), []string{"--listen", addr}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--listen %s: err = %v, want a refusal naming loopback", addr, err)
		}
	}
}
