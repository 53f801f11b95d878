package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"smb_app_data", "sync-message-history", "-callback", "-app-secret", "-number", "-out-of-order", "-rate-limit-first", "COEX_APP_SECRET"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestSecretsFromEnvironmentStayOutOfHelp(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"COEX_APP_SECRET": "s3cret-app", "COEX_POSITUS_WEBHOOK_TOKEN": "s3cret-positus"}[k]
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatal("--help shows a secret from the environment")
	}
	o, _, err := parseFlags(nil, env, io.Discard)
	if err != nil || o.cfg.AppSecret != "s3cret-app" || o.cfg.PositusSecret != "s3cret-positus" {
		t.Fatalf("secrets from the environment not used: %v", err)
	}
	o, _, err = parseFlags([]string{"--app-secret", "flag"}, env, io.Discard)
	if err != nil || o.cfg.AppSecret != "flag" {
		t.Fatalf("--app-secret does not override the environment: %v", err)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"--number", "only-one-part"},
		{"--number", ":5511"},
		{"--now", "yesterday"},
		{"--chunk-size", "0"},
		{"--rate-limit-first", "-1"},
		{"extra"},
		{"--no-such-flag"},
	} {
		if err := run(context.Background(), args, noEnv, io.Discard, io.Discard); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
}

func TestServeUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--number", "111:5511900000001:pos-1"}, noEnv, &out, io.Discard)
	}()
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			base, _, _ = strings.Cut(rest, "\n")
		}
	}
	if base == "" {
		t.Fatalf("no listening line in %q", out.String())
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	if !strings.Contains(out.String(), "number 111 (display 5511900000001, Positus id pos-1)") {
		t.Fatalf("served numbers not listed: %q", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
}

func TestDump(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	args := []string{"--dump", dir, "--messages", "50", "--contacts", "5", "--chunk-size", "10", "--now", "2026-04-01T12:00:00Z", "--number", "222:5511900000002"}
	if err := run(context.Background(), args, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "222", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	chunks := 0
	for _, f := range files {
		if strings.HasSuffix(f, "-chunk.json") {
			chunks++
		}
	}
	if chunks < 5 || !strings.HasSuffix(files[0], "00001-contacts.json") {
		t.Fatalf("dumped %d files, %d chunks: %v", len(files), chunks, files)
	}
	body, err := os.ReadFile(files[0])
	if err != nil || !bytes.Contains(body, []byte(`"smb_app_state_sync"`)) {
		t.Fatalf("first file: %v %s", err, body)
	}
	if !strings.Contains(out.String(), "50 messages") {
		t.Fatalf("summary %q", out.String())
	}
}
