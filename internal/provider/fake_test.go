package provider

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
type reply struct {
	status int
	body   string
	header map[string]string
	delay  time.Duration // wait before answering (or until the client gives up)
	hangUp bool          // close the connection without an answer
}

// seen is one request the fake upstream received.
type seen struct {
	method, path, rawQuery string
	query                  url.Values
	auth, accept, ctype    string
	body                   string
}

// fakeUpstream answers with its replies in order; the last one repeats.
type fakeUpstream struct {
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	calls   []seen
	srv     *httptest.Server
}

func newFake(t *testing.T, replies ...reply) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{t: t, replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, seen{
		method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, query: r.URL.Query(),
		auth: r.Header.Get("Authorization"), accept: r.Header.Get("Accept"),
		ctype: r.Header.Get("Content-Type"), body: string(body),
	})
	i := min(len(f.calls), len(f.replies)) - 1
	rep := f.replies[i]
	f.mu.Unlock()

	if rep.delay > 0 {
		select {
		case <-time.After(rep.delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fakeUpstream) Calls() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.calls...)
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

func newTestMeta(f *fakeUpstream, version string, p RetryPolicy, log *slog.Logger) *Meta {
	return NewMeta(MetaConfig{BaseURL: f.srv.URL, Version: version, Retry: p, Logger: log})
}

func newTestPositus(f *fakeUpstream, p RetryPolicy, log *slog.Logger) *Positus {
	return NewPositus(PositusConfig{BaseURL: f.srv.URL, Retry: p, Logger: log})
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
