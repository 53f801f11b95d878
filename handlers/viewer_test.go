package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
)

// TestTimesInTheReadersZone: the browser's zone (cookie or header) moves every time on the
// page, day separators included; a profile choice wins over the browser; junk is ignored.
func TestTimesInTheReadersZone(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			path := fmt.Sprintf("/threads/%d?at=wamid.carla000", f.carla.ID)
			clock := func(h http.Header) (string, string, string, []string) {
				t.Helper()
				res, body := agent.Get(path, h)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d", path, res.StatusCode)
				}
				d := convDoc(t, body)
				// carla000 is 2025-10-10 00:00:00 UTC.
				first := d.Find(`[data-wamid="wamid.carla000"] [data-testid=bubble-time]`)
				return first.Text(), first.AttrOr("title", ""), d.Find(`[data-testid=topbar-zone]`).Text(),
					[]string{d.Find(`[data-testid=chat-start]`).Text()}
			}
			text, title, zone, days := clock(nil)
			if text != "00:00" || title != "2025-10-10 00:00:00 UTC" || zone != "UTC" {
				t.Fatalf("no zone reported: %q %q %q", text, title, zone)
			}
			if !strings.Contains(days[0], "Friday, 10 October 2025") {
				t.Fatalf("UTC days %v", days)
			}
			text, title, zone, days = clock(http.Header{"X-Timezone": {"America/Sao_Paulo"}})
			if text != "21:00" || title != "2025-10-09 21:00:00 -03" || zone != "America/Sao_Paulo (UTC-03:00)" {
				t.Fatalf("São Paulo: %q %q %q", text, title, zone)
			}
			if !strings.Contains(days[0], "Thursday, 9 October 2025") {
				t.Fatalf("São Paulo days %v", days)
			}
			u, _ := url.Parse(app.Server.URL)
			agent.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: "coex_tz", Value: url.QueryEscape("Asia/Kolkata")}})
			if text, title, _, _ = clock(nil); text != "05:30" || title != "2025-10-10 05:30:00 +05:30" {
				t.Fatalf("cookie zone: %q %q", text, title)
			}
			if text, _, zone, _ = clock(http.Header{"X-Timezone": {"../../etc/passwd"}}); text != "05:30" || !strings.HasPrefix(zone, "Asia/Kolkata") {
				t.Fatalf("a bad header is not ignored: %q %q", text, zone)
			}

			// The profile's zone wins over the browser's.
			res, body := agent.PostForm("/profile", url.Values{"time_zone": {"Mars/Olympus"}}, nil)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose a time zone from the list") {
				t.Fatalf("bad zone saved: %d", res.StatusCode)
			}
			res, _ = agent.PostForm("/profile", url.Values{"time_zone": {"America/Sao_Paulo"}}, nil)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile?saved=1" {
				t.Fatalf("save profile = %d %s", res.StatusCode, res.Header.Get("Location"))
			}
			if text, _, zone, _ = clock(http.Header{"X-Timezone": {"Asia/Tokyo"}}); text != "21:00" || !strings.HasPrefix(zone, "America/Sao_Paulo") {
				t.Fatalf("profile zone: %q %q", text, zone)
			}
			_, body = agent.Get("/profile", nil)
			d := convDoc(t, body)
			if got := d.Find(`#f-time_zone option[selected]`).AttrOr("value", ""); got != "America/Sao_Paulo" {
				t.Fatalf("profile shows %q selected", got)
			}
			// The admin keeps their own zone.
			admin := app.Login(apptest.AdminEmail)
			if _, body := admin.Get(path, nil); !strings.Contains(body, `title="2025-10-10 00:00:00 UTC"`) {
				t.Fatal("another user's profile zone applies to the admin")
			}
			// Back to the browser's zone.
			agent.PostForm("/profile", url.Values{"time_zone": {""}}, nil)
			if text, _, _, _ = clock(http.Header{"X-Timezone": {"Asia/Tokyo"}}); text != "09:00" {
				t.Fatalf("browser zone after reset: %q", text)
			}
		})
	}
}

// TestJumpToDate: a date (in the reader's zone) opens the thread at that day's first
// message, highlighted, in one request; past the end, at the last message.
func TestJumpToDate(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			agent := app.Login(apptest.AgentEmail)
			for _, c := range []struct {
				date, zone, want string
			}{
				{"2025-10-12", "", "wamid.carla288"},                  // 1760227200 = 2025-10-12 00:00 UTC
				{"2025-10-12", "America/Sao_Paulo", "wamid.carla306"}, // 03:00 UTC
				{"2030-01-01", "", "wamid.carla449"},
				{"2020-01-01", "", "wamid.carla000"},
			} {
				h := http.Header{}
				if c.zone != "" {
					h.Set("X-Timezone", c.zone)
				}
				res, body := agent.Get(fmt.Sprintf("/threads/%d?date=%s", f.carla.ID, c.date), h)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("date %s = %d", c.date, res.StatusCode)
				}
				d := convDoc(t, body)
				if got := d.Find(`#hit`).AttrOr("data-wamid", ""); got != c.want {
					t.Errorf("date %s (%s) opens %q, want %q", c.date, c.zone, got, c.want)
				}
				if got := d.Find(`#f-date`).AttrOr("value", ""); got != c.date {
					t.Errorf("date box %q", got)
				}
			}
			if res, _ := agent.Get(fmt.Sprintf("/threads/%d?date=yesterday", f.carla.ID), nil); res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("bad date = %d", res.StatusCode)
			}
			_, body := agent.Get(fmt.Sprintf("/threads/%d", f.carla.ID), nil)
			if href := convDoc(t, body).Find(`[data-testid=jump-latest]`).AttrOr("href", ""); href != fmt.Sprintf("/threads/%d#thread-end", f.carla.ID) {
				t.Errorf("jump to latest %q", href)
			}
		})
	}
}
