package handlers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"coexhistory/handlers"
	"coexhistory/internal/apptest"
	"coexhistory/internal/ingest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/webhook"
)

// Every way a signature can be wrong is refused with 401, and nothing is stored.
func TestWebhookSignatureVariantsAreRejected(t *testing.T) {
	chunk, err := os.ReadFile("../internal/coex/testdata/history-chunk.json")
	if err != nil {
		t.Fatal(err)
	}
	app := apptest.New(t, "sqlite", apptest.Options{})
	good := webhook.Sign([]byte(apptest.AppSecret), chunk)
	flipped := append([]byte(nil), chunk...)
	flipped[len(flipped)/2] ^= 0x01
	var v any
	if err := json.Unmarshal(chunk, &v); err != nil {
		t.Fatal(err)
	}
	reserialised, _ := json.Marshal(v) // same JSON, other bytes
	mac := hmac.New(sha1.New, []byte(apptest.AppSecret))
	mac.Write(chunk)
	cases := []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"missing header", chunk, nil},
		{"wrong secret", chunk, http.Header{"X-Hub-Signature-256": {webhook.Sign([]byte("another-app-secret-000"), chunk)}}},
		{"one flipped byte in the body", flipped, http.Header{"X-Hub-Signature-256": {good}}},
		{"sha1 only", chunk, http.Header{"X-Hub-Signature": {"sha1=" + hex.EncodeToString(mac.Sum(nil))}}},
		{"sha1 value in the sha256 header", chunk, http.Header{"X-Hub-Signature-256": {"sha1=" + hex.EncodeToString(mac.Sum(nil))}}},
		{"re-serialised JSON", reserialised, http.Header{"X-Hub-Signature-256": {good}}},
		{"truncated signature", chunk, http.Header{"X-Hub-Signature-256": {good[:len(good)-2]}}},
		{"empty signature", chunk, http.Header{"X-Hub-Signature-256": {"sha256="}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := postWebhook(t, app, "/webhooks/whatsapp", tc.body, tc.header); status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status)
			}
			if n := inboxCount(t, app.DB); n != 0 {
				t.Fatalf("%d rows stored", n)
			}
		})
	}
	// Concurrent duplicate deliveries: all acknowledged, one row.
	var wg sync.WaitGroup
	var oks atomic.Int32
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", app.Server.URL+"/webhooks/whatsapp", bytes.NewReader(chunk))
			req.Header.Set("X-Hub-Signature-256", good)
			if res, err := http.DefaultClient.Do(req); err == nil {
				if res.StatusCode == http.StatusOK {
					oks.Add(1)
				}
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	if oks.Load() != 8 || inboxCount(t, app.DB) != 1 {
		t.Fatalf("%d of 8 acknowledged, %d rows stored; want 8 and 1", oks.Load(), inboxCount(t, app.DB))
	}
}

// flakyInbox fails while down is set, like a database that is unreachable.
type flakyInbox struct {
	db   *store.DB
	down atomic.Bool
}

func (f *flakyInbox) InsertInbox(ctx context.Context, source string, body []byte) (uint64, bool, error) {
	if f.down.Load() {
		return 0, false, errors.New("dial tcp 127.0.0.1:3306: connection refused")
	}
	return f.db.InsertInbox(ctx, source, body)
}

// While the database cannot take a webhook the answer is 503 (Meta retries); the retried
// delivery, once the database is back, is stored and applied.
func TestWebhookRetriedAfter503IsApplied(t *testing.T) {
	chunk, err := os.ReadFile("../internal/coex/testdata/history-chunk.json")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		inbox := &flakyInbox{db: db}
		inbox.down.Store(true)
		e := echo.New()
		h := handlers.New(handlers.Deps{Logger: slog.New(slog.DiscardHandler), Inbox: inbox,
			Webhooks: handlers.WebhookConfig{AppSecret: []byte(apptest.AppSecret), VerifyToken: apptest.VerifyToken}})
		h.Register(e)
		post := func() int {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(chunk))
			req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte(apptest.AppSecret), chunk))
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			return rec.Code
		}
		if got := post(); got != http.StatusServiceUnavailable {
			t.Fatalf("database down: %d, want 503", got)
		}
		inbox.down.Store(false)
		if got := post(); got != http.StatusOK {
			t.Fatalf("retry: %d, want 200", got)
		}
		if _, err := ingest.New(db, nil, ingest.Options{}).Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		threads, messages, err := db.CountThreadsAndMessages(context.Background(), "623400011122233")
		// 8 messages, one of them a reaction shown on the message it reacts to.
		if err != nil || threads != 2 || messages != 7 {
			t.Fatalf("after the retry: %d threads, %d messages (%v); want 2 and 7", threads, messages, err)
		}
	})
}
