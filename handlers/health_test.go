package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
)

// TestHealthOverview: admins see every number (and any unregistered one that sends
// webhooks) with its sync state, last webhook, failures and backlog; agents may not.
func TestHealthOverview(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, _ := convApp(t, dialect)
			now := time.Now().UTC()
			for i, r := range []struct{ pnid, state, err string }{
				{convPNID, "done", ""}, {convPNID, "failed", "unknown message type: carousel"}, {convPNID, "pending", ""},
				{"999000111222333", "pending", ""}, {"", "pending", ""},
			} {
				if _, err := app.DB.SQL().ExecContext(context.Background(), `INSERT INTO webhook_inbox (body_sha256, source, body, size, received_at, state, field,
					phone_number_id, attempts, lease_owner, lease_until_ms, error) VALUES (?, 'meta', '{}', 2, ?, ?, 'messages', ?, 0, '', 0, ?)`,
					fmt.Sprintf("%064d", i), now.Add(time.Duration(i)*time.Second), r.state, r.pnid, r.err); err != nil {
					t.Fatal(err)
				}
			}
			if res, _ := app.Login(apptest.AgentEmail).Get("/admin/health", nil); res.StatusCode != http.StatusForbidden {
				t.Fatalf("agent GET /admin/health = %d", res.StatusCode)
			}
			res, body := app.Login(apptest.AdminEmail).Get("/admin/health", nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /admin/health = %d", res.StatusCode)
			}
			d := convDoc(t, body)
			got := map[string][]string{}
			d.Find(`[data-testid=health-row]`).Each(func(_ int, s *goquery.Selection) {
				cell := func(id string) string {
					return strings.Join(strings.Fields(s.Find(`[data-testid=`+id+`]`).Text()), " ")
				}
				got[s.AttrOr("data-pnid", "")] = []string{cell("health-label"), cell("health-failed"), cell("health-backlog")}
			})
			want := map[string][]string{
				convPNID:          {"Doces da Vila", "1 unknown message type: carousel", "1"},
				convPNID2:         {"Outra Loja", "0", "0"},
				"999000111222333": {"Not registered", "0", "1"},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("health rows\n %v\nwant\n %v", got, want)
			}
			if got := d.Find(`[data-pnid="` + convPNID2 + `"] [data-testid=health-last-webhook]`).Text(); !strings.Contains(got, "None yet") {
				t.Errorf("a number without webhooks shows %q", got)
			}
			if got := d.Find(`[data-testid=health-unmatched]`).Text(); got != "1 webhooks" {
				t.Errorf("unmatched %q", got)
			}
		})
	}
}
