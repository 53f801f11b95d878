package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apptest"
	"coexhistory/internal/export"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

func exportAudits(t *testing.T, db *store.DB) []string {
	t.Helper()
	entries, err := db.ListAudit(context.Background(), store.AuditFilter{Action: "thread.export"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Actor+" "+e.Target+" "+e.Detail)
	}
	return out
}

func TestThreadExports(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			admin := app.Login(apptest.AdminEmail)
			base := fmt.Sprintf("/threads/%d/export.", f.ana.ID)

			// JSON: everything, parsed back.
			res, body := admin.Get(base+"json", nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("json export = %d: %.300s", res.StatusCode, body)
			}
			for h, want := range map[string]string{
				"Content-Type":        "application/json; charset=utf-8",
				"Content-Disposition": "attachment; filename=whatsapp-thread-" + fmt.Sprint(f.ana.ID) + "-5511912345678.json",
				"Cache-Control":       "no-store",
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			doc, err := export.ReadJSON(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if doc.Thread.ContactName != "Ana Souza" || doc.Thread.BusinessName != "Doces da Vila" || doc.Thread.PhoneNumberID != convPNID || doc.ExportedAt == nil {
				t.Fatalf("thread %+v", doc.Thread)
			}
			var wamids []string
			byID := map[string]export.Message{}
			for _, m := range doc.Messages {
				wamids = append(wamids, m.WAMID)
				byID[m.WAMID] = m
			}
			if strings.Join(wamids, " ") != "wamid.ana0 wamid.ana1 wamid.ana2 wamid.ana3 wamid.ana4 wamid.ana5 wamid.ana6 wamid.ana7" {
				t.Fatalf("exported %v", wamids)
			}
			if m := byID["wamid.ana2"]; m.Sender != "Doces da Vila" || m.Status != "read" || !reflect.DeepEqual(m.Reactions, []export.Reaction{{Emoji: "❤️", Direction: "inbound"}}) {
				t.Fatalf("ana2 %+v", m)
			}
			if m := byID["wamid.ana4"]; m.Location == nil || m.Location.Latitude != -23.561684 || m.Location.Name != "Doces da Vila" {
				t.Fatalf("ana4 location %+v", m.Location)
			}
			if m := byID["wamid.ana5"]; m.Text != convHostile || m.Sender != "Ana Souza" {
				t.Fatalf("ana5 %+v", m)
			}
			if m := byID["wamid.ana6"]; !m.Edited || m.MediaID != "1234567890" || m.Origin != "echo" {
				t.Fatalf("ana6 %+v", m)
			}
			if !byID["wamid.ana7"].Deleted {
				t.Fatal("ana7 not deleted")
			}

			// CSV: the same messages.
			res, body = admin.Get(base+"csv", nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Fatalf("csv export = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
			}
			rows, err := export.ReadCSV(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rows, doc.Messages) {
				t.Fatalf("CSV and JSON differ:\n csv %+v\njson %+v", rows, doc.Messages)
			}

			// Text: one line per message, like WhatsApp.
			res, body = admin.Get(base+"txt", nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("txt export = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
			}
			lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			day := convDay.Format(time.DateOnly)
			want := []string{
				"[2025-09-20 09:41] Ana Souza: <image omitted> foto antiga do bolo",
				"[" + day + " 09:55] Ana Souza: Oi! Vocês ainda têm o bolo de cenoura para sábado?",
				"[" + day + " 09:56] Doces da Vila: Temos sim! Separo um para você?\\nRetirada até as 14h. [reactions: ❤️]",
			}
			if len(lines) != 8 || !reflect.DeepEqual(lines[:3], want) {
				t.Fatalf("text export:\n%s", body)
			}
			// In another time zone.
			_, body = admin.Get(base+"txt?tz=America/Sao_Paulo", nil)
			if !strings.HasPrefix(body, "[2025-09-20 06:41] Ana Souza: ") {
				t.Fatalf("São Paulo times: %.80s", body)
			}
			if res, _ := admin.Get(base+"txt?tz=Mars/Olympus", nil); res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("unknown time zone = %d", res.StatusCode)
			}

			// A long thread streams in pages: all 450 messages, in order.
			_, body = admin.Get(fmt.Sprintf("/threads/%d/export.json", f.carla.ID), nil)
			long, err := export.ReadJSON(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if len(long.Messages) != convLongCount || long.Messages[0].WAMID != "wamid.carla000" || long.Messages[convLongCount-1].WAMID != "wamid.carla449" {
				t.Fatalf("long export: %d messages", len(long.Messages))
			}
			for i, m := range long.Messages {
				if m.WAMID != fmt.Sprintf("wamid.carla%03d", i) {
					t.Fatalf("long export message %d is %s", i, m.WAMID)
				}
			}

			// Each export is audited (five so far: the unknown time zone was refused before).
			audits := exportAudits(t, app.DB)
			if len(audits) != 5 {
				t.Fatalf("%d audit entries: %v", len(audits), audits)
			}
			wantAudit := fmt.Sprintf("%s thread %d format=csv number=%s contact=5511912345678 messages=9", apptest.AdminEmail, f.ana.ID, convPNID)
			found := false
			for _, a := range audits {
				found = found || a == wantAudit
			}
			if !found {
				t.Fatalf("no audit entry %q in %v", wantAudit, audits)
			}

			// Agents read but do not export; nothing is audited for them.
			agent := app.Login(apptest.AgentEmail)
			for _, format := range export.Formats {
				res, body := agent.Get(base+format, nil)
				if res.StatusCode != http.StatusForbidden || res.Header.Get("Content-Disposition") != "" || strings.Contains(body, "bolo") {
					t.Errorf("agent %s export = %d", format, res.StatusCode)
				}
			}
			if n := len(exportAudits(t, app.DB)); n != 5 {
				t.Fatalf("%d audit entries after refused exports", n)
			}
			if res, _ := admin.Get("/threads/999999/export.csv", nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown thread export = %d", res.StatusCode)
			}
			if res, _ := admin.Get(base+"xml", nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown format = %d", res.StatusCode)
			}
		})
	}
}
