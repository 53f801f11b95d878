package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Through the receiver, a WABA with three numbers: an account_update naming one number
// (value.phone_number) changes only that number, with its reason and initiator on the
// number page and in the audit log; an event naming none applies to all three; an unknown
// event is kept and shown on each number, changing no state.
func TestAccountEventsThroughTheReceiver(t *testing.T) {
	const waba = "810023456789012"
	numbers := []registry.Input{
		{Label: "Loja Centro", DisplayPhoneNumber: "5511987650000", PhoneNumberID: "623400011122201"},
		{Label: "Loja Norte", DisplayPhoneNumber: "5511987650001", PhoneNumberID: "623400011122202"},
		{Label: "Loja Sul", DisplayPhoneNumber: "5511987650002", PhoneNumberID: "623400011122203"},
	}
	event := func(v string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1761000000,"changes":[{"field":"account_update","value":` + v + `}]}]}`)
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			ctx := context.Background()
			ids := make([]uint64, len(numbers))
			for i, in := range numbers {
				in.WABAID, in.Provider, in.AccessToken = waba, "meta", "EAAGtest"
				n, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, in)
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = n.ID
			}
			post := func(b []byte) {
				t.Helper()
				if status, body := postWebhook(t, app, "/webhooks/whatsapp", b, signed(b)); status != http.StatusOK {
					t.Fatalf("post = %d %s", status, body)
				}
				if _, err := app.Services.Ingest.Drain(ctx); err != nil {
					t.Fatal(err)
				}
			}
			states := func() []string {
				t.Helper()
				out := make([]string, len(numbers))
				for i, in := range numbers {
					n, err := app.DB.NumberByPhoneNumberID(ctx, in.PhoneNumberID)
					if err != nil {
						t.Fatal(err)
					}
					out[i] = n.AccountState
				}
				return out
			}
			agent := app.Login(apptest.AgentEmail)
			page := func(i int) *goquery.Document {
				t.Helper()
				res, body := agent.Get("/numbers/"+itoa(ids[i]), nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("number page = %d", res.StatusCode)
				}
				doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				return doc
			}
			eq := func(got, want []string) bool { return strings.Join(got, ",") == strings.Join(want, ",") }

			// One number named (formatted as Meta sends it): only that one is removed.
			post(event(`{"phone_number":"+55 11 98765-0001","event":"PARTNER_REMOVED","disconnection_info":{"reason":"PRIMARY_INACTIVITY","initiated_by":"SYSTEM"},"waba_info":{"waba_id":"` + waba + `"}}`))
			if got := states(); !eq(got, []string{models.AccountActive, models.AccountRemoved, models.AccountActive}) {
				t.Fatalf("after PARTNER_REMOVED naming one number: states %v", got)
			}
			doc := page(1)
			if got := strings.Join(strings.Fields(doc.Find(`[data-testid=number-account-reason]`).Text()), " "); got != "PARTNER_REMOVED · PRIMARY_INACTIVITY · initiated by SYSTEM" {
				t.Fatalf("number page reason = %q", got)
			}
			if got := doc.Find(`[data-testid=account-event-reason]`).First().Text(); got != "PRIMARY_INACTIVITY" {
				t.Fatalf("account event reason = %q", got)
			}
			if got := doc.Find(`[data-testid=account-event-initiator]`).First().Text(); got != "SYSTEM" {
				t.Fatalf("account event initiator = %q", got)
			}
			if n := page(0).Find(`[data-testid=account-event]`).Length(); n != 0 {
				t.Fatalf("a number not named shows %d account events", n)
			}
			audit, err := app.DB.ListAudit(ctx, store.AuditFilter{Action: "account.event"})
			if err != nil {
				t.Fatal(err)
			}
			if len(audit) != 1 || audit[0].Actor != "webhook" || audit[0].Target != numbers[1].PhoneNumberID ||
				!strings.Contains(audit[0].Detail, "PARTNER_REMOVED reason=PRIMARY_INACTIVITY initiated_by=SYSTEM") ||
				!strings.Contains(audit[0].Detail, "active → partner_removed") {
				t.Fatalf("audit = %+v", audit)
			}

			// No number named: the whole WABA (waba_info.waba_id) uninstalled the app.
			post(event(`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `"}}`))
			if got := states(); !eq(got, []string{models.AccountUninstalled, models.AccountUninstalled, models.AccountUninstalled}) {
				t.Fatalf("after PARTNER_APP_UNINSTALLED for the WABA: states %v", got)
			}

			// An unknown event for the WABA: kept on every number and shown, state unchanged.
			post(event(`{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`))
			if got := states(); !eq(got, []string{models.AccountUninstalled, models.AccountUninstalled, models.AccountUninstalled}) {
				t.Fatalf("after an unknown event: states %v", got)
			}
			for i := range numbers {
				doc := page(i)
				first := doc.Find(`[data-testid=account-event]`).First()
				if name := first.Find(`[data-testid=account-event-name]`).Text(); !strings.Contains(name, "ACCOUNT_VIOLATION") || !strings.Contains(name, "unknown event") {
					t.Fatalf("number %d: newest event = %q", i, name)
				}
				if !strings.Contains(first.Text(), "violation_type=SCAM") {
					t.Fatalf("number %d: violation detail not shown: %q", i, first.Text())
				}
				if want := map[int]int{0: 2, 1: 3, 2: 2}[i]; doc.Find(`[data-testid=account-event]`).Length() != want {
					t.Fatalf("number %d: %d account events, want %d", i, doc.Find(`[data-testid=account-event]`).Length(), want)
				}
			}
			audit, err = app.DB.ListAudit(ctx, store.AuditFilter{Action: "account.event"})
			if err != nil || len(audit) != 7 {
				t.Fatalf("audit entries = %d (%v), want 7", len(audit), err)
			}
		})
	}
}
