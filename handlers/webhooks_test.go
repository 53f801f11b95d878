package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/webhook"
)

func postWebhook(t *testing.T, app *apptest.App, path string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, app.Server.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

func signed(body []byte) http.Header {
	return http.Header{"X-Hub-Signature-256": {webhook.Sign([]byte(apptest.AppSecret), body)}}
}

func inboxCount(t *testing.T, db *store.DB) int {
	t.Helper()
	items, err := db.ListInbox(context.Background(), store.InboxFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

func TestWebhookVerificationHandshake(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	c := app.Anonymous()
	cases := []struct {
		query      string
		wantStatus int
		wantBody   string
	}{
		{"?hub.mode=subscribe&hub.verify_token=" + apptest.VerifyToken + "&hub.challenge=1158201444", 200, "1158201444"},
		{"?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", 403, "verification failed"},
		{"?hub.mode=unsubscribe&hub.verify_token=" + apptest.VerifyToken + "&hub.challenge=1", 403, "verification failed"},
		{"?hub.mode=subscribe&hub.challenge=1", 403, "verification failed"},
	}
	for _, tc := range cases {
		res, body := c.Get("/webhooks/whatsapp"+tc.query, nil)
		if res.StatusCode != tc.wantStatus || body != tc.wantBody {
			t.Errorf("%s = %d %q, want %d %q", tc.query, res.StatusCode, body, tc.wantStatus, tc.wantBody)
		}
	}
}

func TestWebhookReceiver(t *testing.T) {
	chunk, err := os.ReadFile("../internal/coex/testdata/history-chunk.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			huge := append([]byte(`{"object":"whatsapp_business_account","entry":[],"pad":"`), bytes.Repeat([]byte("x"), 6<<20)...)
			cases := []struct {
				name       string
				path       string
				body       []byte
				header     http.Header
				wantStatus int
				wantStored int // rows in the inbox afterwards
			}{
				{"no signature", "/webhooks/whatsapp", chunk, nil, 401, 0},
				{"wrong signature", "/webhooks/whatsapp", chunk, http.Header{"X-Hub-Signature-256": {"sha256=" + strings.Repeat("0", 64)}}, 401, 0},
				{"signature of another body", "/webhooks/whatsapp", chunk, signed([]byte("{}")), 401, 0},
				{"too large", "/webhooks/whatsapp", huge, signed(huge), 413, 0},
				{"signed", "/webhooks/whatsapp", chunk, signed(chunk), 200, 1},
				{"duplicate", "/webhooks/whatsapp", chunk, signed(chunk), 200, 1},
				{"not JSON but signed: kept for inspection", "/webhooks/whatsapp", []byte("not json"), signed([]byte("not json")), 200, 2},
				{"positus without secret", "/webhooks/positus", []byte(`{"a":1}`), nil, 401, 2},
				{"positus wrong secret", "/webhooks/positus/nope", []byte(`{"a":1}`), nil, 401, 2},
				{"positus secret in header", "/webhooks/positus", []byte(`{"a":1}`), http.Header{"X-Coex-Webhook-Token": {apptest.PositusSecret}}, 200, 3},
				{"positus secret in path", "/webhooks/positus/" + apptest.PositusSecret, []byte(`{"a":2}`), nil, 200, 4},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					status, _ := postWebhook(t, app, tc.path, tc.body, tc.header)
					if status != tc.wantStatus {
						t.Fatalf("status %d, want %d", status, tc.wantStatus)
					}
					if n := inboxCount(t, app.DB); n != tc.wantStored {
						t.Fatalf("inbox has %d rows, want %d", n, tc.wantStored)
					}
				})
			}
			items, _ := app.DB.ListInbox(context.Background(), store.InboxFilter{})
			got, err := app.DB.GetInbox(context.Background(), items[len(items)-1].ID)
			if err != nil || !bytes.Equal(got.Body, chunk) || got.Source != "meta" {
				t.Fatalf("stored body differs from the raw body (source %q)", got.Source)
			}
			if strings.Contains(app.Logs.String(), apptest.PositusSecret) {
				t.Fatal("the Positus secret was logged")
			}
		})
	}
}

func TestWebhookAnswers503WhenTheDatabaseIsDown(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	if err := app.DB.Close(); err != nil {
		t.Fatal(err)
	}
	status, _ := postWebhook(t, app, "/webhooks/whatsapp", body, signed(body))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 so that Meta retries", status)
	}
}
