package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// pickOutbound returns the first outbound message whose final status satisfies ok.
func pickOutbound(t *testing.T, h *History, ok func(string) bool) MessageRecord {
	t.Helper()
	for _, m := range h.Messages {
		if m.Outbound && ok(strings.ToUpper(m.Status)) {
			return m
		}
	}
	t.Fatal("no such outbound message")
	return MessageRecord{}
}

func is(statuses ...string) func(string) bool {
	return func(s string) bool {
		for _, x := range statuses {
			if s == x {
				return true
			}
		}
		return false
	}
}

type eventsAnswer struct {
	Data []struct {
		Cursor string `json:"cursor"`
		Node   struct {
			ID                  string `json:"id"`
			DeliveryStatus      string `json:"delivery_status"`
			ErrorDescription    string `json:"error_description"`
			OccurrenceTimestamp int64  `json:"occurrence_timestamp"`
			StatusTimestamp     int64  `json:"status_timestamp"`
			Application         *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"application"`
			WebhookUpdateState *string `json:"webhook_update_state"`
			WebhookURI         *string `json:"webhook_uri"`
		} `json:"node"`
	} `json:"data"`
	Paging *struct {
		Cursors struct {
			Before string `json:"before"`
			After  string `json:"after"`
		} `json:"cursors"`
		Next     string `json:"next"`
		Previous string `json:"previous"`
	} `json:"paging"`
}

func (f *simFixture) getJSON(t *testing.T, path string, into any) int {
	t.Helper()
	req, err := http.NewRequest("GET", f.api.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := f.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("GET %s: %q is not JSON", path, raw)
	}
	return resp.StatusCode
}

const fullFields = "cursor,node{id,delivery_status,error_description,occurrence_timestamp,status_timestamp,application,webhook_update_state,webhook_uri}"

func TestMessageHistoryIDs(t *testing.T) {
	f := newFixture(t, nil)
	h, _ := f.sim.History("623400011122233")
	out := pickOutbound(t, h, is("READ"))
	var in MessageRecord
	for _, m := range h.Messages {
		if !m.Outbound {
			in = m
			break
		}
	}

	var page struct {
		Data []struct {
			ID        string `json:"id"`
			MessageID string `json:"message_id"`
		} `json:"data"`
	}
	status := f.getJSON(t, "/v23.0/623400011122233/message_history?message_id="+url.QueryEscape(out.ID), &page)
	if status != 200 || len(page.Data) != 1 || page.Data[0].ID != out.HistoryID || page.Data[0].MessageID != out.ID {
		t.Fatalf("outbound: %d %+v", status, page)
	}
	for name, wamid := range map[string]string{"inbound": in.ID, "unknown": "wamid.nope"} {
		var e graphErrorBody
		if status := f.getJSON(t, "/v23.0/623400011122233/message_history?message_id="+url.QueryEscape(wamid), &e); status != 404 || e.Error.Code != 803 {
			t.Fatalf("%s: %d %+v", name, status, e)
		}
	}

	// Without message_id: every outbound message, paged.
	seen := map[string]bool{}
	path := "/v25.0/623400011122233/message_history?limit=100"
	for pages := 0; path != ""; pages++ {
		var p historyIDPage
		if status := f.getJSON(t, path, &p); status != 200 || pages > 20 {
			t.Fatalf("listing page %d: %d", pages, status)
		}
		for _, r := range p.Data {
			seen[r.MessageID] = true
		}
		path = ""
		if p.Paging != nil && p.Paging.Next != "" {
			u, _ := url.Parse(p.Paging.Next)
			path = u.RequestURI()
		}
	}
	want := 0
	for _, m := range h.Messages {
		if m.Outbound {
			want++
		}
	}
	if len(seen) != want || !seen[out.ID] {
		t.Fatalf("listing gave %d messages, want %d", len(seen), want)
	}
}

func TestEventsFollowTheFinalStatus(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	cases := []struct {
		final string
		major int
		want  []string
	}{
		{"READ", 25, []string{"SENT", "DELIVERED", "READ"}},
		{"PLAYED", 25, []string{"SENT", "DELIVERED", "READ"}},
		{"DELIVERED", 25, []string{"SENT", "DELIVERED"}},
		{"SENT", 25, []string{"SENT"}},
		{"ERROR", 25, []string{"SENT", "ERROR"}},
		{"ERROR", 23, []string{"SENT", "FAILED"}},
	}
	for _, tc := range cases {
		m := pickOutbound(t, h, is(tc.final))
		events := EventsOf(m, tc.major)
		var got []string
		for i, e := range events {
			got = append(got, e.DeliveryStatus)
			if i > 0 && e.OccurrenceTimestamp < events[i-1].OccurrenceTimestamp || e.OccurrenceTimestamp < m.Timestamp || e.ID == "" {
				t.Fatalf("%s: event %d %+v out of time order", tc.final, i, e)
			}
			if (e.ErrorDescription != "") != (e.DeliveryStatus == "ERROR" || e.DeliveryStatus == "FAILED") {
				t.Fatalf("%s: error description on %s: %q", tc.final, e.DeliveryStatus, e.ErrorDescription)
			}
			if (e.WebhookUpdateState != "") != (tc.major >= 25) {
				t.Fatalf("v%d: webhook state %q", tc.major, e.WebhookUpdateState)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s v%d: events %v, want %v", tc.final, tc.major, got, tc.want)
		}
	}
	in := MessageRecord{ID: "wamid.x", Outbound: false, Status: "READ"}
	if len(EventsOf(in, 25)) != 0 {
		t.Fatal("an inbound message has events")
	}
}

func TestEventsPagination(t *testing.T) {
	f := newFixture(t, nil)
	h, _ := f.sim.History("623400011122233")
	m := pickOutbound(t, h, is("READ", "PLAYED"))
	want := EventsOf(m, 25)

	var got []string
	path := "/v25.0/" + m.HistoryID + "/events?limit=1&fields=" + url.QueryEscape(fullFields)
	for pages := 0; path != ""; pages++ {
		var p eventsAnswer
		if status := f.getJSON(t, path, &p); status != 200 || len(p.Data) != 1 || pages >= len(want) {
			t.Fatalf("page %d: %d, %d events", pages, status, len(p.Data))
		}
		n := p.Data[0].Node
		if n.Application == nil || n.Application.ID != EventsApplicationID || n.StatusTimestamp == 0 ||
			n.WebhookUpdateState == nil || n.WebhookURI == nil || !strings.HasSuffix(*n.WebhookURI, "/webhooks/whatsapp") {
			t.Fatalf("page %d: node %+v", pages, n)
		}
		if p.Paging == nil || p.Paging.Cursors.After != p.Data[0].Cursor || p.Paging.Cursors.Before != p.Data[0].Cursor {
			t.Fatalf("page %d: paging %+v", pages, p.Paging)
		}
		if (pages > 0) != (p.Paging.Previous != "") {
			t.Fatalf("page %d: previous %q", pages, p.Paging.Previous)
		}
		got = append(got, n.DeliveryStatus)
		path = ""
		if p.Paging.Next != "" {
			u, err := url.Parse(p.Paging.Next)
			if err != nil || u.Query().Get("after") != p.Paging.Cursors.After || u.Query().Get("limit") != "1" {
				t.Fatalf("next %q", p.Paging.Next)
			}
			path = u.RequestURI()
		}
	}
	if strings.Join(got, ",") != "SENT,DELIVERED,READ" {
		t.Fatalf("paged events %v", got)
	}

	// Without fields, only the default ones; the whole list fits the default limit.
	var p eventsAnswer
	if status := f.getJSON(t, "/v25.0/"+m.HistoryID+"/events", &p); status != 200 || len(p.Data) != 3 ||
		p.Data[0].Node.Application != nil || p.Data[0].Node.WebhookUpdateState != nil || p.Paging.Next != "" {
		t.Fatalf("default fields: %d %+v", status, p)
	}
	// v23 has no webhook fields even when asked.
	if status := f.getJSON(t, "/v23.0/"+m.HistoryID+"/events?fields="+url.QueryEscape(fullFields), &p); status != 200 ||
		p.Data[0].Node.WebhookUpdateState != nil || p.Data[0].Node.WebhookURI != nil || p.Data[0].Node.Application == nil {
		t.Fatalf("v23 fields: %d %+v", status, p)
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "after=bm9wZQ"} {
		var e graphErrorBody
		if status := f.getJSON(t, "/v25.0/"+m.HistoryID+"/events?"+bad, &e); status != 400 || e.Error.Code != 100 {
			t.Fatalf("%s: %d %+v", bad, status, e)
		}
	}
}

func TestEventsStatusFilterByVersion(t *testing.T) {
	f := newFixture(t, nil)
	h, _ := f.sim.History("623400011122233")
	m := pickOutbound(t, h, is("READ", "PLAYED"))
	failed := pickOutbound(t, h, is("ERROR"))
	cases := []struct {
		name, version, query string
		status               int
		want                 string
	}{
		{"v23 status_filter", "v23.0", "status_filter=READ", 200, "READ"},
		{"v23 lowercase", "v23.0", "status_filter=delivered", 200, "DELIVERED"},
		{"v23 other name", "v23.0", "delivery_status=READ", 400, ""},
		{"v24 delivery_status", "v24.0", "delivery_status=SENT", 200, "SENT"},
		{"v25 delivery_status", "v25.0", "delivery_status=DELIVERED", 200, "DELIVERED"},
		{"v25 other name", "v25.0", "status_filter=READ", 400, ""},
		{"v25 unknown value", "v25.0", "delivery_status=FAILED", 400, ""},
		{"v23 unknown value", "v23.0", "status_filter=ACCEPTED", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p eventsAnswer
			var e graphErrorBody
			var into any = &p
			if tc.status != 200 {
				into = &e
			}
			status := f.getJSON(t, "/"+tc.version+"/"+m.HistoryID+"/events?"+tc.query, into)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if tc.status != 200 {
				if e.Error.Code != 100 {
					t.Fatalf("error %+v", e)
				}
				return
			}
			if len(p.Data) != 1 || p.Data[0].Node.DeliveryStatus != tc.want {
				t.Fatalf("filtered events %+v, want one %s", p.Data, tc.want)
			}
		})
	}
	var p eventsAnswer
	if status := f.getJSON(t, "/v25.0/"+failed.HistoryID+"/events?delivery_status=ERROR&fields=cursor,node{id,delivery_status,error_description}", &p); status != 200 ||
		len(p.Data) != 1 || p.Data[0].Node.ErrorDescription == "" {
		t.Fatalf("failed message: %d %+v", status, p)
	}
	var e graphErrorBody
	if status := f.getJSON(t, "/v25.0/1234/events", &e); status != 404 || e.Error.Code != 803 {
		t.Fatalf("unknown history id: %d %+v", status, e)
	}
}

func TestEventsRateLimitOnce(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Faults.EventsRateLimitOnce = true })
	h, _ := f.sim.History("623400011122233")
	m := pickOutbound(t, h, is("READ"))
	var e graphErrorBody
	if status := f.getJSON(t, "/v23.0/"+m.HistoryID+"/events", &e); status != 429 || e.Error.Code != 4 || !e.Error.IsTransient {
		t.Fatalf("first call: %d %+v", status, e)
	}
	var p eventsAnswer
	if status := f.getJSON(t, "/v23.0/"+m.HistoryID+"/events", &p); status != 200 || len(p.Data) != 3 {
		t.Fatalf("second call: %d %+v", status, p)
	}
}
