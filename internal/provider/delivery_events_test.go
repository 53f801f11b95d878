package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const historyID = "5550192837465011"

func TestMessageHistoryIDs(t *testing.T) {
	wamid := "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBBMUIyQzNENEU1RjYwNzA4AA=="
	f := newFake(t,
		reply{Body: `{"data":[{"id":"5550192837465011","message_id":"` + wamid + `"},{"id":"999","message_id":"wamid.other"}],` +
			`"paging":{"cursors":{"after":"C1"},"next":"https://graph.facebook.com/next?access_token=leak"}}`},
		reply{Body: `{"data":[{"id":"5550192837465012","message_id":"` + wamid + `"},{"id":"5550192837465011","message_id":"` + wamid + `"}],"paging":{"cursors":{"after":"C2"}}}`},
	)
	ids, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).MessageHistoryIDs(context.Background(), metaNumber(), wamid)
	if err != nil {
		t.Fatalf("MessageHistoryIDs: %v", err)
	}
	if fmt.Sprint(ids) != "[5550192837465011 5550192837465012]" {
		t.Errorf("ids = %v", ids)
	}
	calls := f.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls = %d, want 2", len(calls))
	}
	for i, c := range calls {
		if c.Method != "GET" || c.Path != "/v25.0/623400011122233/message_history" {
			t.Errorf("call %d = %s %s", i, c.Method, c.Path)
		}
		if c.Query.Get("message_id") != wamid || c.Query.Get("fields") != "id,message_id" {
			t.Errorf("call %d query = %v", i, c.Query)
		}
		if c.Auth != "Bearer "+testToken || c.Body != "" {
			t.Errorf("call %d auth = %q body = %q", i, c.Auth, c.Body)
		}
	}
	if calls[0].Query.Has("after") || calls[1].Query.Get("after") != "C1" {
		t.Errorf("after cursors = %q, %q; want none, C1", calls[0].Query.Get("after"), calls[1].Query.Get("after"))
	}
	if strings.Contains(calls[1].RawQuery, "leak") {
		t.Errorf("the client followed paging.next: %q", calls[1].RawQuery)
	}
}

func TestMessageEventsPages(t *testing.T) {
	page1 := testdata(t, "message-history-events-200.json")
	page2 := `{"data":[{"cursor":"P2A","node":{"id":"7301928374650014","delivery_status":"FAILED","error_description":"Message undeliverable",` +
		`"occurrence_timestamp":"1761041200","application":{"id":1029384756473829,"name":"Atende Cloud Inbox"},"webhook_update_state":"ERROR","webhook_uri":"https://hooks.example.com/wa"}}],` +
		`"paging":{"cursors":{"before":"P2A","after":"P2A"},"next":"https://graph.facebook.com/v25.0/x/events?after=P2A"}}`
	page3 := `{"data":[{"cursor":"P3A","node":{"id":"7301928374650015","delivery_status":"READ","occurrence_timestamp":1761041300}}],` +
		`"paging":{"cursors":{"before":"P3A","after":"P3A"}}}`
	f := newFake(t, reply{Body: page1}, reply{Body: page2}, reply{Body: page3})
	events, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{Limit: 3})
	if err != nil {
		t.Fatalf("MessageEvents: %v", err)
	}
	want := []Event{
		{ID: "7301928374650011", DeliveryStatus: StatusSent, OccurrenceTimestamp: 1761040234, StatusTimestamp: 1761040236, ApplicationID: "1029384756473829", ApplicationName: "Atende Cloud Inbox"},
		{ID: "7301928374650012", DeliveryStatus: StatusDelivered, OccurrenceTimestamp: 1761040239, StatusTimestamp: 1761040240, ApplicationID: "1029384756473829", ApplicationName: "Atende Cloud Inbox"},
		{ID: "7301928374650013", DeliveryStatus: StatusRead, OccurrenceTimestamp: 1761041187, StatusTimestamp: 1761041188, ApplicationID: "1029384756473829", ApplicationName: "Atende Cloud Inbox"},
		{ID: "7301928374650014", DeliveryStatus: StatusFailed, ErrorDescription: "Message undeliverable", OccurrenceTimestamp: 1761041200,
			ApplicationID: "1029384756473829", ApplicationName: "Atende Cloud Inbox", WebhookUpdateState: WebhookError, WebhookURI: "https://hooks.example.com/wa"},
		{ID: "7301928374650015", DeliveryStatus: StatusRead, OccurrenceTimestamp: 1761041300},
	}
	if len(events) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(events), len(want), events)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("event %d =\n %+v\nwant\n %+v", i, events[i], want[i])
		}
	}
	calls := f.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %d, want 3", len(calls))
	}
	afters := []string{calls[0].Query.Get("after"), calls[1].Query.Get("after"), calls[2].Query.Get("after")}
	if fmt.Sprint(afters) != "[ QVFIUkZAxWjNhTnB0Z3lGN2NS P2A]" {
		t.Errorf("after cursors = %q", afters)
	}
	for i, c := range calls {
		if c.Method != "GET" || c.Path != "/v25.0/"+historyID+"/events" || c.Query.Get("limit") != "3" {
			t.Errorf("call %d = %s %s limit=%q", i, c.Method, c.Path, c.Query.Get("limit"))
		}
	}
}

func TestMessageEventsStopsOnLoops(t *testing.T) {
	node := `{"cursor":"X","node":{"id":"E%d","delivery_status":"SENT","occurrence_timestamp":1}}`
	t.Run("repeated cursor", func(t *testing.T) {
		same := reply{Body: `{"data":[` + fmt.Sprintf(node, 1) + `],"paging":{"cursors":{"after":"SAME"},"next":"n"}}`}
		f := newFake(t, same)
		events, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{})
		if err != nil {
			t.Fatalf("MessageEvents: %v", err)
		}
		if got := len(f.Calls()); got != 2 {
			t.Errorf("calls = %d, want 2 (stop when the cursor repeats)", got)
		}
		if len(events) != 2 {
			t.Errorf("events = %d, want 2", len(events))
		}
	})
	t.Run("page limit", func(t *testing.T) {
		var replies []reply
		for i := range 10 {
			replies = append(replies, reply{Body: `{"data":[` + fmt.Sprintf(node, i) + `],"paging":{"cursors":{"after":"C` + fmt.Sprint(i) + `"},"next":"n"}}`})
		}
		f := newFake(t, replies...)
		m := NewMeta(MetaConfig{BaseURL: f.URL, Version: "v25.0", Retry: testPolicy(&sleeper{}), MaxPages: 4})
		events, err := m.MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{})
		if err != nil {
			t.Fatalf("MessageEvents: %v", err)
		}
		if got := len(f.Calls()); got != 4 || len(events) != 4 {
			t.Errorf("calls = %d, events = %d; want 4 and 4", got, len(events))
		}
	})
}

func TestMessageEventsParametersByVersion(t *testing.T) {
	const v23Fields = "cursor,node{id,delivery_status,error_description,occurrence_timestamp,status_timestamp,application}"
	const v24Fields = "cursor,node{id,delivery_status,error_description,occurrence_timestamp,status_timestamp,application,webhook_update_state,webhook_uri}"
	tests := []struct {
		version    string
		status     DeliveryStatus
		wantParam  string // the filter's name; "" for none
		notParam   string
		wantFields string
	}{
		{"v22.0", StatusRead, "status_filter", "delivery_status", v23Fields},
		{"v23.0", StatusDelivered, "status_filter", "delivery_status", v23Fields},
		{"v24.0", StatusRead, "delivery_status", "status_filter", v24Fields},
		{"v25.0", StatusError, "delivery_status", "status_filter", v24Fields},
		{"v30.1", StatusSent, "delivery_status", "status_filter", v24Fields},
		{"v25.0", "", "", "status_filter", v24Fields},
		{"v23.0", "", "", "delivery_status", v23Fields},
	}
	for _, tc := range tests {
		t.Run(tc.version+"/"+string(tc.status), func(t *testing.T) {
			f := newFake(t, reply{Body: `{"data":[]}`})
			m := newTestMeta(f, tc.version, testPolicy(&sleeper{}), nil)
			if _, err := m.MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{Status: tc.status}); err != nil {
				t.Fatalf("MessageEvents: %v", err)
			}
			c := f.Calls()[0]
			if c.Path != "/"+tc.version+"/"+historyID+"/events" {
				t.Errorf("path = %q", c.Path)
			}
			if tc.wantParam != "" && c.Query.Get(tc.wantParam) != string(tc.status) {
				t.Errorf("%s = %q, want %q (query %s)", tc.wantParam, c.Query.Get(tc.wantParam), tc.status, c.RawQuery)
			}
			if tc.wantParam == "" && (c.Query.Has("status_filter") || c.Query.Has("delivery_status")) {
				t.Errorf("a status filter was sent without one asked: %s", c.RawQuery)
			}
			if c.Query.Has(tc.notParam) {
				t.Errorf("%s sent on %s: %s", tc.notParam, tc.version, c.RawQuery)
			}
			if c.Query.Get("fields") != tc.wantFields {
				t.Errorf("fields = %q, want %q", c.Query.Get("fields"), tc.wantFields)
			}
			if c.Query.Get("limit") != "100" {
				t.Errorf("limit = %q, want the default 100", c.Query.Get("limit"))
			}
		})
	}
}

func TestStatusFilterParam(t *testing.T) {
	for v, want := range map[string]string{"v23.0": "status_filter", "v9": "status_filter", "24.0": "delivery_status", "v25.0": "delivery_status", "latest": "delivery_status"} {
		if got := NewMeta(MetaConfig{Version: v}).StatusFilterParam(); got != want {
			t.Errorf("StatusFilterParam(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestMessageEventsLimitOutOfRange(t *testing.T) {
	for _, limit := range []int{-1, 101} {
		f := newFake(t, reply{Body: `{"data":[]}`})
		_, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{Limit: limit})
		if err == nil || !strings.Contains(err.Error(), "outside 1-100") {
			t.Errorf("limit %d: error = %v", limit, err)
		}
		if len(f.Calls()) != 0 {
			t.Errorf("limit %d: a call was made", limit)
		}
	}
}

func TestUnknownEnumValuesKept(t *testing.T) {
	f := newFake(t, reply{Body: `{"data":[{"cursor":"c","node":{"id":"E1","delivery_status":"PLAYED","occurrence_timestamp":1761040234,"webhook_update_state":"QUEUED"}},` +
		`{"cursor":"d","node":{"id":"E2","delivery_status":"read","occurrence_timestamp":1761040235}}]}`})
	events, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{})
	if err != nil {
		t.Fatalf("MessageEvents: %v", err)
	}
	if len(events) != 2 {
		t.Fatalf("events = %+v", events)
	}
	if events[0].DeliveryStatus != "PLAYED" || events[0].DeliveryStatus.Known() || events[0].WebhookUpdateState != "QUEUED" {
		t.Errorf("event 0 = %+v; unknown values must be kept as they came", events[0])
	}
	if events[1].DeliveryStatus != "read" {
		t.Errorf("event 1 status = %q, want it unchanged", events[1].DeliveryStatus)
	}
	if !StatusAccepted.Known() || !StatusDeleted.Known() {
		t.Error("documented statuses are not Known")
	}
}

func TestEventsErrorStatuses(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		kind      ErrorKind
		meaning   string
		transient bool
		calls     int
	}{
		{400, `{"error":{"message":"Invalid parameter: status_filter","type":"OAuthException","code":100,"fbtrace_id":"F400"}}`,
			KindInvalidParameter, "The request had an invalid parameter (for example a bad status filter).", false, 1},
		{401, `{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190,"error_subcode":463}}`,
			KindTokenInvalid, "The access token has expired or is invalid; update the number's token.", false, 1},
		{403, `{"error":{"message":"no permission for this resource","type":"OAuthException","code":200,"error_subcode":1349174}}`,
			KindNoPermission, "The access token has no permission for this number or data.", false, 1},
		{404, `{"error":{"message":"Message History not found","type":"GraphMethodException","code":803}}`,
			KindNotFound, "Not found: Meta has no history for it.", false, 1},
		{422, `{"error":{"message":"requested fields not available","type":"GraphMethodException","code":100}}`,
			KindFieldsUnavailable, "The requested fields are not available for this API version.", false, 1},
		{429, `{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"error_subcode":2446079,"is_transient":true}}`,
			KindRateLimited, "Rate limited: too many calls for now; try again later.", true, 3},
		{500, `{"error":{"message":"unexpected error, retry","type":"GraphMethodException","code":2,"is_transient":true}}`,
			KindUnavailable, "The upstream had a temporary problem; try again later.", true, 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFake(t, reply{Status: tc.status, Body: tc.body})
			s := &sleeper{}
			p := testPolicy(s)
			p.MaxAttempts = 3
			_, err := newTestMeta(f, "v23.0", p, nil).MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{Status: StatusRead})
			var ge *GraphAPIError
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is not a GraphAPIError", err)
			}
			if ge.HTTPStatus != tc.status || ge.Kind() != tc.kind || ge.Transient() != tc.transient {
				t.Errorf("status/kind/transient = %d/%s/%v, want %d/%s/%v", ge.HTTPStatus, ge.Kind(), ge.Transient(), tc.status, tc.kind, tc.transient)
			}
			if ge.Meaning() != tc.meaning {
				t.Errorf("Meaning = %q, want %q", ge.Meaning(), tc.meaning)
			}
			if safe := ge.SafeMessage(); !strings.HasPrefix(safe, tc.meaning) || !strings.Contains(safe, fmt.Sprintf("code %d", ge.Code)) ||
				!strings.Contains(safe, fmt.Sprintf("HTTP %d", tc.status)) || strings.Contains(safe, ge.Message) {
				t.Errorf("SafeMessage = %q", safe)
			}
			if got := len(f.Calls()); got != tc.calls {
				t.Errorf("calls = %d, want %d", got, tc.calls)
			}
		})
	}
}

func TestEventsRateLimitThenSuccess(t *testing.T) {
	f := newFake(t,
		reply{Status: 429, Body: testdata(t, "graph-error-429.json"), Header: map[string]string{
			"X-Business-Use-Case-Usage": `{"810023456789012":[{"type":"whatsapp","call_count":100,"total_cputime":4,"total_time":5,"estimated_time_to_regain_access":1}]}`}},
		reply{Body: testdata(t, "message-history-events-200.json")},
		reply{Body: `{"data":[]}`},
	)
	s := &sleeper{}
	events, err := newTestMeta(f, "v23.0", testPolicy(s), nil).MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{})
	if err != nil {
		t.Fatalf("MessageEvents: %v", err)
	}
	if len(events) != 3 || events[2].DeliveryStatus != StatusRead {
		t.Errorf("events = %+v", events)
	}
	if got := s.Waits(); !equalDurations(got, []time.Duration{time.Minute}) {
		t.Errorf("waits = %v, want [1m0s]", got)
	}
	if got := len(f.Calls()); got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
}

func TestPositusHasNoEvents(t *testing.T) {
	p := NewPositus(PositusConfig{})
	_, err := p.MessageEvents(context.Background(), positusNumber(), historyID, EventsQuery{})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("MessageEvents error = %v, want ErrUnsupported", err)
	}
	_, err = p.MessageHistoryIDs(context.Background(), positusNumber(), "wamid.x")
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("MessageHistoryIDs error = %v, want ErrUnsupported", err)
	}
}
