package handlers_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apptest"
	"coexhistory/internal/server"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/webhook"
)

// rawRequest opens a connection to the app and writes the request line and headers of a
// POST with the given Content-Length; the caller writes (or withholds) the body.
func rawRequest(t *testing.T, app *apptest.App, path string, contentLength int, header http.Header) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, _ := url.Parse(app.Server.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, u.Host, contentLength)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

func readStatus(t *testing.T, conn net.Conn, r *bufio.Reader, within time.Duration) int {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", within, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A request without a valid signature header is refused before its body is read: the
// answer comes while the body is still withheld.
func TestWebhookSignatureHeaderCheckedBeforeTheBody(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{})
	for name, h := range map[string]http.Header{
		"missing":   nil,
		"malformed": {"X-Hub-Signature-256": {"sha256=xyz"}},
		"sha1":      {"X-Hub-Signature-256": {"sha1=" + strings.Repeat("0", 40)}},
	} {
		t.Run(name, func(t *testing.T) {
			conn, r := rawRequest(t, app, "/webhooks/whatsapp", 4<<20, h)
			if got := readStatus(t, conn, r, 2*time.Second); got != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", got)
			}
		})
	}
	conn, r := rawRequest(t, app, "/webhooks/positus/wrong-secret", 4<<20, nil)
	if got := readStatus(t, conn, r, 2*time.Second); got != http.StatusUnauthorized {
		t.Fatalf("positus: status %d, want 401", got)
	}
}

// A body's buffer grows as bytes arrive: announcing 5 MB and sending 10 bytes holds a
// small buffer, not 5 MB.
func TestWebhookBufferGrowsAsBytesArrive(t *testing.T) {
	budget := webhook.NewBudget(64 << 20)
	app := apptest.New(t, "sqlite", apptest.Options{Setup: func(s *server.Services) { s.WebhookBudget = budget }})
	var conns []net.Conn
	for range 20 {
		conn, _ := rawRequest(t, app, "/webhooks/whatsapp", 5<<20, signed([]byte("x")))
		if _, err := conn.Write([]byte(`{"object":`)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	deadline := time.Now().Add(2 * time.Second)
	for budget.InUse() < 20*4<<10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := budget.InUse(); got != 20*4<<10 {
		t.Fatalf("20 stalled 5 MB bodies hold %d bytes, want %d (4 KiB each)", got, 20*4<<10)
	}
	for _, c := range conns {
		c.Close()
	}
	deadline = time.Now().Add(2 * time.Second)
	for budget.InUse() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := budget.InUse(); got != 0 {
		t.Fatalf("after the connections closed the budget holds %d bytes", got)
	}
}

// Past the byte budget a webhook gets a quick 503 with Retry-After, nothing is stored,
// and the same delivery is stored once the budget has room again.
func TestWebhookBudgetFullAnswers503(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			budget := webhook.NewBudget(1536 << 10)
			app := apptest.New(t, dialect, apptest.Options{Setup: func(s *server.Services) { s.WebhookBudget = budget }})
			body := []byte(`{"object":"whatsapp_business_account","entry":[],"pad":"` + strings.Repeat("a", 600<<10) + `"}`)
			// A stalled body holds 512 KiB of the budget...
			stalled, _ := rawRequest(t, app, "/webhooks/whatsapp", len(body), signed(body))
			if _, err := stalled.Write(body[:400<<10]); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for budget.InUse() < 512<<10 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			// ...so the same body from another sender cannot grow from 512 to 600 KiB (it
			// needs both buffers for the copy).
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPost, app.Server.URL+"/webhooks/whatsapp", bytes.NewReader(body))
			req.Header = signed(body)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
				t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("503 took %s", took)
			}
			if n := inboxCount(t, app.DB); n != 0 {
				t.Fatalf("%d rows stored", n)
			}
			stalled.Close()
			for budget.InUse() != 0 && time.Now().Before(deadline.Add(time.Second)) {
				time.Sleep(5 * time.Millisecond)
			}
			if status, _ := postWebhook(t, app, "/webhooks/whatsapp", body, signed(body)); status != http.StatusOK {
				t.Fatalf("retry: status %d", status)
			}
			if n := inboxCount(t, app.DB); n != 1 {
				t.Fatalf("%d rows stored after the retry", n)
			}
		})
	}
}

// A body trickled slower than the minimum rate is cut off once the grace period has
// passed; a body sent in bursts that keep the average passes.
func TestWebhookTrickledBodyIsCutOff(t *testing.T) {
	app := apptest.New(t, "sqlite", apptest.Options{Setup: func(s *server.Services) {
		s.WebhookMinRate, s.WebhookGrace = 100<<10, 300*time.Millisecond
	}})
	body := []byte(`{"object":"whatsapp_business_account","entry":[],"pad":"` + strings.Repeat("a", 200<<10) + `"}`)
	conn, r := rawRequest(t, app, "/webhooks/whatsapp", len(body), signed(body))
	start := time.Now()
	go func() {
		for i := 0; i < len(body); i += 100 {
			if _, err := conn.Write(body[i:min(i+100, len(body))]); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if got := readStatus(t, conn, r, 5*time.Second); got != http.StatusRequestTimeout {
		t.Fatalf("trickled body: status %d, want 408", got)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("cut off after %s", took)
	}
	if n := inboxCount(t, app.DB); n != 0 {
		t.Fatalf("%d rows stored", n)
	}

	// Two bursts, 200 ms apart: slower than the rate at first, but within the grace period.
	bursty, r := rawRequest(t, app, "/webhooks/whatsapp", len(body), signed(body))
	_, _ = bursty.Write(body[:1000])
	time.Sleep(200 * time.Millisecond)
	_, _ = bursty.Write(body[1000:])
	if got := readStatus(t, bursty, r, 5*time.Second); got != http.StatusOK {
		t.Fatalf("bursty body: status %d, want 200", got)
	}
}
