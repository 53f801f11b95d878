package provider

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"coexhistory/internal/provider/providertest"
)

// The clients satisfy the interfaces the rest of the product uses.
var (
	_ SyncRequester = (*Meta)(nil)
	_ SyncRequester = (*Positus)(nil)
	_ EventsReader  = (*Meta)(nil)
	_ EventsReader  = (*Positus)(nil)
)

const testToken = "EAAGtestTOKENsecret1234567890abcdef"

// reply is one scripted answer of the fake upstream.
type reply = providertest.Reply

// newFake starts a fake upstream answering every request with replies in order; the last
// one repeats.
func newFake(t *testing.T, replies ...reply) *providertest.Server {
	t.Helper()
	f := providertest.New(t)
	f.Script(providertest.Any, replies...)
	return f
}

// sleeper records the waits instead of sleeping.
type sleeper struct {
	mu     sync.Mutex
	waits  []time.Duration
	onCall func() // runs on each sleep, e.g. to cancel the context
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	f := s.onCall
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// testPolicy is the default policy with a fixed jitter draw (0.5) and a recording sleep.
func testPolicy(s *sleeper) RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    6,
		Base:           time.Second,
		Factor:         2,
		Cap:            5 * time.Minute,
		AttemptTimeout: 2 * time.Second,
		Rand:           func() float64 { return 0.5 },
		Sleep:          s.Sleep,
	}
}

// logBuffer collects the clients' logs (to check that no token leaks into them).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newTestMeta(f *providertest.Server, version string, p RetryPolicy, log *slog.Logger) *Meta {
	return NewMeta(MetaConfig{BaseURL: f.URL, Version: version, Retry: p, Logger: log})
}

func newTestPositus(f *providertest.Server, p RetryPolicy, log *slog.Logger) *Positus {
	return NewPositus(PositusConfig{BaseURL: f.URL, Retry: p, Logger: log})
}

func metaNumber() Number {
	return Number{PhoneNumberID: "623400011122233", ProviderNumberID: "", AccessToken: testToken}
}

func positusNumber() Number {
	return Number{PhoneNumberID: "623400011122233", ProviderNumberID: "3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b", AccessToken: testToken}
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return string(b)
}
