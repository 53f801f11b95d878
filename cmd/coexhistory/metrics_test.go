package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apptest"
)

// With COEX_METRICS_ADDR, serve answers /metrics on that address (behind the token when
// set) and not on the main listener.
func TestServeMetricsOnItsOwnAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	const token = "metrics-token-0123456789abcdef"
	getenv := apptest.Env("sqlite:"+filepath.Join(t.TempDir(), "m.db"), map[string]string{
		"COEX_ADDR": "127.0.0.1:0", "COEX_METRICS_ADDR": metricsAddr, "COEX_METRICS_TOKEN": token,
	})
	if _, err := runCmd(t, getenv, "", "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var out, errOut apptest.SyncBuffer
	done := make(chan error)
	go func() { done <- run(ctx, []string{"serve"}, getenv, strings.NewReader(""), &out, &errOut) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	get := func(url, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		client := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 64<<10)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return res.StatusCode, b.String()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body := get("http://"+metricsAddr+"/metrics", "Bearer "+token)
		if status == http.StatusOK && strings.Contains(body, "coexhistory_inbox_rows") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics listener: %d %.300s\n%s", status, body, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, _ := get("http://"+metricsAddr+"/metrics", ""); status != http.StatusUnauthorized {
		t.Fatalf("metrics listener without the token: %d", status)
	}
	main := strings.TrimSpace(strings.TrimPrefix(out.String(), "coexhistory is running at "))
	if _, err := strconv.Atoi(main[strings.LastIndex(main, ":")+1:]); err != nil {
		t.Fatalf("main address from %q", out.String())
	}
	if status, body := get(main+"/metrics", "Bearer "+token); status == http.StatusOK || strings.Contains(body, "go_goroutines") {
		t.Fatalf("main listener serves /metrics: %d", status)
	}
}
