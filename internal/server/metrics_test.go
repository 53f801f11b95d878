package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/webhook"
)

const metricsToken = "metrics-token-0123456789abcdef"

func scrape(t *testing.T, app *apptest.App, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, app.Server.URL+"/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// metricValue finds the value of the first sample whose name and labels contain all of parts.
func metricValue(t *testing.T, body string, name string, labels ...string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no sample %s %v in:\n%s", name, labels, grepLines(body, name))
	return 0
}

func grepLines(body, prefix string) string {
	var out []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// /metrics is served in the Prometheus format behind its bearer token and counts what
// happened: webhooks by outcome, the inbox, ingest, HTTP latency by route, the pool, Go.
func TestMetricsExposedAndProtected(t *testing.T) {
	chunk, err := os.ReadFile("../coex/testdata/history-chunk.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{Env: map[string]string{"COEX_METRICS_TOKEN": metricsToken}})
			ctx := context.Background()
			if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: "623400011122233",
				WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
			}); err != nil {
				t.Fatal(err)
			}
			for _, auth := range []string{"", "Bearer wrong-token-0123456789", metricsToken, "Basic " + metricsToken} {
				if status, _ := scrape(t, app, auth); status != http.StatusUnauthorized {
					t.Fatalf("scrape with %q = %d, want 401", auth, status)
				}
			}
			post := func(sig string) int {
				req, _ := http.NewRequest(http.MethodPost, app.Server.URL+"/webhooks/whatsapp", strings.NewReader(string(chunk)))
				req.Header.Set(webhook.SignatureHeader, sig)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			if post(webhook.Sign([]byte(apptest.AppSecret), chunk)) != 200 || post("sha256="+strings.Repeat("0", 64)) != 401 {
				t.Fatal("posting the webhooks failed")
			}
			status, body := scrape(t, app, "Bearer "+metricsToken)
			if status != http.StatusOK {
				t.Fatalf("scrape = %d", status)
			}
			if v := metricValue(t, body, "coexhistory_inbox_rows", `state="pending"`); v != 1 {
				t.Fatalf("pending rows %v", v)
			}
			if v := metricValue(t, body, "coexhistory_inbox_oldest_pending_seconds"); v < 0 {
				t.Fatalf("oldest pending %v", v)
			}
			if _, err := app.Services.Ingest.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			_, body = scrape(t, app, "Bearer "+metricsToken)
			for _, c := range []struct {
				name   string
				labels []string
				min    float64
			}{
				{"coexhistory_webhooks_received_total", []string{`field="history"`, `outcome="stored"`, `source="meta"`}, 1},
				{"coexhistory_webhooks_received_total", []string{`outcome="bad_signature"`}, 1},
				{"coexhistory_webhook_answer_seconds_count", []string{`outcome="stored"`}, 1},
				{"coexhistory_webhook_body_bytes_sum", []string{`source="meta"`}, float64(len(chunk))},
				{"coexhistory_inbox_rows", []string{`state="done"`}, 1},
				{"coexhistory_inbox_rows_processed_total", []string{`field="history"`, `outcome="done"`}, 1},
				{"coexhistory_messages_applied_total", nil, 1},
				{"coexhistory_history_chunk_apply_seconds_count", nil, 1},
				{"coexhistory_http_request_seconds_count", []string{`route="/webhooks/whatsapp"`, `code="2xx"`, `method="POST"`}, 1},
				{"coexhistory_http_request_seconds_count", []string{`route="/webhooks/whatsapp"`, `code="4xx"`}, 1},
				{"go_goroutines", nil, 1},
				{"go_sql_max_open_connections", nil, 0},
				{"process_resident_memory_bytes", nil, 1},
			} {
				if v := metricValue(t, body, c.name, c.labels...); v < c.min {
					t.Errorf("%s %v = %v, want ≥ %v", c.name, c.labels, v, c.min)
				}
			}
			if v := metricValue(t, body, "coexhistory_inbox_rows", `state="pending"`); v != 0 {
				t.Errorf("pending after the drain: %v", v)
			}
			// Routes are labelled by pattern: no ids or secrets in the labels.
			if regexp.MustCompile(`route="[^"]*[0-9]{6,}`).MatchString(body) || strings.Contains(body, apptest.PositusSecret) {
				t.Error("a raw path in the labels")
			}
		})
	}
	// Without a token there is no /metrics on the main listener: it is an unknown URL
	// (sent to sign in, like every other one).
	app := apptest.New(t, "sqlite", apptest.Options{})
	res, body := app.Anonymous().Get("/metrics", http.Header{"Authorization": {"Bearer anything-at-all-0123"}})
	if (res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusSeeOther) || strings.Contains(body, "go_goroutines") {
		t.Fatalf("scrape without COEX_METRICS_TOKEN = %d %.300s, want 404 or the sign-in redirect", res.StatusCode, body)
	}
}
