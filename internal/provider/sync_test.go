package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestSyncSuccess(t *testing.T) {
	tests := []struct {
		name     string
		positus  bool
		syncType SyncType
		answer   string
		wantPath string
		wantBody map[string]string
		wantID   string
	}{
		{"meta contacts", false, SyncContacts, `{"messaging_product":"whatsapp","request_id":"RQ-contacts-1"}`,
			"/v25.0/623400011122233/smb_app_data", map[string]string{"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}, "RQ-contacts-1"},
		{"meta history", false, SyncHistory, `{"messaging_product":"whatsapp","request_id":"RQ-history-2"}`,
			"/v25.0/623400011122233/smb_app_data", map[string]string{"messaging_product": "whatsapp", "sync_type": "history"}, "RQ-history-2"},
		{"meta accepted without request_id", false, SyncHistory, `OK`,
			"/v25.0/623400011122233/smb_app_data", map[string]string{"messaging_product": "whatsapp", "sync_type": "history"}, ""},
		{"positus contacts, request_id at top", true, SyncContacts, `{"request_id":"RQ-p-1"}`,
			"/v2/whatsapp/numbers/3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b/onboarding-smb-app/sync-contacts", map[string]string{}, "RQ-p-1"},
		{"positus history, request_id under data", true, SyncHistory, `{"data":{"messaging_product":"whatsapp","request_id":"RQ-p-2"}}`,
			"/v2/whatsapp/numbers/3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b/onboarding-smb-app/sync-message-history", map[string]string{}, "RQ-p-2"},
		{"positus numeric request_id", true, SyncHistory, `{"request_id":123456789012}`,
			"/v2/whatsapp/numbers/3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b/onboarding-smb-app/sync-message-history", map[string]string{}, "123456789012"},
		{"positus empty answer", true, SyncContacts, ``,
			"/v2/whatsapp/numbers/3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b/onboarding-smb-app/sync-contacts", map[string]string{}, ""},
		{"positus answer without request_id", true, SyncContacts, `{"success":true,"data":[]}`,
			"/v2/whatsapp/numbers/3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b/onboarding-smb-app/sync-contacts", map[string]string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply{Status: 200, Body: tc.answer})
			s := &sleeper{}
			var client SyncRequester
			n := metaNumber()
			if tc.positus {
				client = newTestPositus(f, testPolicy(s), nil)
				n = positusNumber()
			} else {
				client = newTestMeta(f, "v25.0", testPolicy(s), nil)
			}
			id, err := client.RequestSync(context.Background(), n, tc.syncType)
			if err != nil {
				t.Fatalf("RequestSync: %v", err)
			}
			if id != tc.wantID {
				t.Errorf("request id = %q, want %q", id, tc.wantID)
			}
			calls := f.Calls()
			if len(calls) != 1 {
				t.Fatalf("calls = %d, want 1", len(calls))
			}
			c := calls[0]
			if c.Method != http.MethodPost || c.Path != tc.wantPath {
				t.Errorf("request = %s %s, want POST %s", c.Method, c.Path, tc.wantPath)
			}
			if c.Auth != "Bearer "+testToken {
				t.Errorf("Authorization = %q", c.Auth)
			}
			if c.Accept != "application/json" || c.ContentType != "application/json" {
				t.Errorf("Accept = %q, Content-Type = %q, want application/json", c.Accept, c.ContentType)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
				t.Fatalf("body %q is not a JSON object of strings: %v", c.Body, err)
			}
			if len(body) != len(tc.wantBody) {
				t.Errorf("body = %v, want %v", body, tc.wantBody)
			}
			for k, v := range tc.wantBody {
				if body[k] != v {
					t.Errorf("body[%q] = %q, want %q", k, body[k], v)
				}
			}
			if w := s.Waits(); len(w) != 0 {
				t.Errorf("waits = %v, want none", w)
			}
		})
	}
}

func TestPositusBaseURLWithV2(t *testing.T) {
	f := newFake(t, reply{Body: `{}`})
	p := NewPositus(PositusConfig{BaseURL: f.URL + "/v2/", Retry: testPolicy(&sleeper{})})
	if _, err := p.RequestSync(context.Background(), positusNumber(), SyncContacts); err != nil {
		t.Fatalf("RequestSync: %v", err)
	}
	if got := f.Calls()[0].Path; got != "/v2/whatsapp/numbers/3f1c2b7e-9a4d-4c1e-8b2a-5d6e7f809a1b/onboarding-smb-app/sync-contacts" {
		t.Errorf("path = %q", got)
	}
}

func TestRequestSyncRetriesTransient(t *testing.T) {
	err429 := testdata(t, "graph-error-429.json")
	ok := reply{Status: 200, Body: `{"messaging_product":"whatsapp","request_id":"RQ-9"}`}
	tests := []struct {
		name      string
		positus   bool
		replies   []reply
		wantWaits []time.Duration // rand is 0.5: jitter before retry n is 0.5 s * 2^(n-1)
	}{
		{"429 with Retry-After", false, []reply{{Status: 429, Body: err429, Header: map[string]string{"Retry-After": "7"}}, ok},
			[]time.Duration{7 * time.Second}},
		{"429 Retry-After below the jitter", false, []reply{{Status: 429, Body: err429, Header: map[string]string{"Retry-After": "0"}}, ok},
			[]time.Duration{500 * time.Millisecond}},
		{"429 with business use case usage, max of all entries", false, []reply{{Status: 429, Body: err429, Header: map[string]string{
			"X-Business-Use-Case-Usage": `{"810023456789012":[{"type":"whatsapp","call_count":100,"estimated_time_to_regain_access":2}],"99":[{"type":"whatsapp","estimated_time_to_regain_access":3}]}`,
		}}, ok}, []time.Duration{3 * time.Minute}},
		{"usage header beyond the cap is capped", false, []reply{{Status: 429, Body: err429, Header: map[string]string{
			"X-Business-Use-Case-Usage": `{"1":[{"estimated_time_to_regain_access":60}]}`, "Retry-After": "30",
		}}, ok}, []time.Duration{5 * time.Minute}},
		{"500 twice then 200", false, []reply{{Status: 500, Body: `{"error":{"message":"unexpected error","type":"GraphMethodException","code":2,"is_transient":true}}`},
			{Status: 503, Body: `Service Unavailable`}, ok}, []time.Duration{500 * time.Millisecond, time.Second}},
		{"is_transient with an unlisted code", false, []reply{{Status: 400, Body: `{"error":{"message":"try again","type":"OAuthException","code":9999,"is_transient":true}}`}, ok},
			[]time.Duration{500 * time.Millisecond}},
		{"code 131000 on a 400", false, []reply{{Status: 400, Body: `{"error":{"message":"Something went wrong","code":131000}}`}, ok},
			[]time.Duration{500 * time.Millisecond}},
		{"connection dropped", false, []reply{{HangUp: true}, ok}, []time.Duration{500 * time.Millisecond}},
		{"positus 429 then 200", true, []reply{{Status: 429, Body: `{"message":"Too Many Attempts."}`, Header: map[string]string{"Retry-After": "12"}}, ok},
			[]time.Duration{12 * time.Second}},
		{"positus 502 then 200", true, []reply{{Status: 502, Body: `<html>bad gateway</html>`}, ok},
			[]time.Duration{500 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.replies...)
			s := &sleeper{}
			var client SyncRequester = newTestMeta(f, "v25.0", testPolicy(s), nil)
			n := metaNumber()
			if tc.positus {
				client, n = newTestPositus(f, testPolicy(s), nil), positusNumber()
			}
			id, err := client.RequestSync(context.Background(), n, SyncHistory)
			if err != nil {
				t.Fatalf("RequestSync: %v", err)
			}
			if id != "RQ-9" {
				t.Errorf("request id = %q, want RQ-9", id)
			}
			if got := len(f.Calls()); got != len(tc.replies) {
				t.Errorf("calls = %d, want %d", got, len(tc.replies))
			}
			if got := s.Waits(); !equalDurations(got, tc.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tc.wantWaits)
			}
			for i, c := range f.Calls() {
				if c.Auth != "Bearer "+testToken {
					t.Errorf("call %d Authorization = %q", i, c.Auth)
				}
			}
		})
	}
}

func TestRequestSyncGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFake(t, reply{Status: 500, Body: `{"error":{"message":"unexpected error","code":2,"is_transient":true,"fbtrace_id":"T1"}}`})
	s := &sleeper{}
	p := testPolicy(s)
	p.MaxAttempts = 4
	_, err := newTestMeta(f, "v25.0", p, nil).RequestSync(context.Background(), metaNumber(), SyncContacts)
	var ge *GraphAPIError
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not a GraphAPIError", err)
	}
	if ge.HTTPStatus != 500 || ge.Code != 2 || ge.FBTraceID != "T1" {
		t.Errorf("error = %+v", ge)
	}
	if !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Errorf("error %q does not say how many attempts", err)
	}
	if got := len(f.Calls()); got != 4 {
		t.Errorf("calls = %d, want 4", got)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	if got := s.Waits(); !equalDurations(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestRequestSyncPermanentErrorsNotRetried(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode int
		wantKind ErrorKind
	}{
		{"100 invalid parameter", 400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"A"}}`, 100, KindInvalidParameter},
		{"190 token expired", 401, `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463}}`, 190, KindTokenInvalid},
		{"190 even if marked transient", 400, `{"error":{"message":"Invalid OAuth access token","code":190,"is_transient":true}}`, 190, KindTokenInvalid},
		{"2593107 already requested", 400, `{"error":{"message":"Synchronization request limit exceeded","type":"OAuthException","code":2593107,"error_data":{"messaging_product":"whatsapp","details":"sync already requested"}}}`, 2593107, KindAlreadyRequested},
		{"2593108 outside window", 400, `{"error":{"message":"Synchronization request made outside of allowed time window","code":2593108,"error_data":"{\"details\":\"outside of allowed time window\"}"}}`, 2593108, KindOutsideWindow},
		{"403 permission 200", 403, `{"error":{"message":"(#200) no permission for this resource","type":"OAuthException","code":200,"error_subcode":1349174}}`, 200, KindNoPermission},
		{"10 permission denied", 400, `{"error":{"message":"(#10) Application does not have permission","code":10}}`, 10, KindNoPermission},
		{"403 non-JSON", 403, `Forbidden`, 0, KindNoPermission},
		{"404 unknown number", 404, `{"error":{"message":"Unsupported post request","type":"GraphMethodException","code":803}}`, 803, KindNotFound},
		{"409 unlisted 4xx", 409, `{"error":{"message":"conflict","code":12345}}`, 12345, KindOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply{Status: tc.status, Body: tc.body}, reply{Status: 200, Body: `{"request_id":"never"}`})
			s := &sleeper{}
			_, err := newTestMeta(f, "v25.0", testPolicy(s), nil).RequestSync(context.Background(), metaNumber(), SyncHistory)
			var ge *GraphAPIError
			if !errors.As(err, &ge) {
				t.Fatalf("error %v is not a GraphAPIError", err)
			}
			if ge.HTTPStatus != tc.status || ge.Code != tc.wantCode || ge.Kind() != tc.wantKind {
				t.Errorf("status/code/kind = %d/%d/%s, want %d/%d/%s", ge.HTTPStatus, ge.Code, ge.Kind(), tc.status, tc.wantCode, tc.wantKind)
			}
			if KindOf(err) != tc.wantKind {
				t.Errorf("KindOf = %q, want %q", KindOf(err), tc.wantKind)
			}
			if ge.Transient() {
				t.Error("Transient() = true, want false")
			}
			if got := len(f.Calls()); got != 1 {
				t.Errorf("calls = %d, want exactly 1", got)
			}
			if w := s.Waits(); len(w) != 0 {
				t.Errorf("waits = %v, want none", w)
			}
		})
	}
}

func TestErrorDetailsDecoded(t *testing.T) {
	for _, body := range []string{
		`{"error":{"message":"m","code":2593108,"error_data":{"messaging_product":"whatsapp","details":"outside of allowed time window"}}}`,
		`{"error":{"message":"m","code":2593108,"error_data":"{\"details\":\"outside of allowed time window\"}"}}`,
	} {
		ge := decodeErrorResponse(400, http.Header{}, []byte(body), testToken)
		if ge.Details != "outside of allowed time window" {
			t.Errorf("details of %s = %q", body, ge.Details)
		}
	}
	full := `{"error":{"message":"msg","type":"OAuthException","code":131000,"error_subcode":7,"fbtrace_id":"FB","is_transient":false,` +
		`"error_user_title":"Title","error_user_msg":"User message","error_data":{"details":"D"}}}`
	got := *decodeErrorResponse(400, http.Header{"Retry-After": {"3"}}, []byte(full), testToken)
	want := GraphAPIError{HTTPStatus: 400, Message: "msg", Type: "OAuthException", Code: 131000, Subcode: 7, FBTraceID: "FB",
		UserTitle: "Title", UserMsg: "User message", Details: "D", RetryAfter: 3 * time.Second}
	if got != want {
		t.Errorf("decoded\n %+v\nwant\n %+v", got, want)
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	page := "<html><head><title>502 Bad Gateway</title></head>\n<body>" + strings.Repeat("nginx upstream error ", 100) + "</body></html>"
	f := newFake(t, reply{Status: 502, Body: page, Header: map[string]string{"Content-Type": "text/html"}})
	p := testPolicy(&sleeper{})
	p.MaxAttempts = 1
	_, err := newTestMeta(f, "v25.0", p, nil).RequestSync(context.Background(), metaNumber(), SyncHistory)
	var ge *GraphAPIError
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not a GraphAPIError", err)
	}
	if ge.HTTPStatus != 502 || ge.Code != 0 {
		t.Errorf("status/code = %d/%d, want 502/0", ge.HTTPStatus, ge.Code)
	}
	if !strings.HasPrefix(ge.Message, "non-JSON error body: <html><head><title>502 Bad Gateway</title></head> <body>nginx") {
		t.Errorf("message = %q", ge.Message)
	}
	if n := len([]rune(ge.Message)); n > maxErrorText+len("non-JSON error body: ")+1 {
		t.Errorf("message has %d runes, want it truncated", n)
	}
	if strings.ContainsAny(ge.Message, "\n\r") {
		t.Errorf("message keeps line breaks: %q", ge.Message)
	}
	if !ge.Transient() || ge.Kind() != KindUnavailable {
		t.Errorf("transient/kind = %v/%s, want true/unavailable", ge.Transient(), ge.Kind())
	}
}

func TestAttemptTimeout(t *testing.T) {
	t.Run("slow first attempt is retried", func(t *testing.T) {
		f := newFake(t, reply{Delay: time.Second, Body: `{"request_id":"late"}`}, reply{Body: `{"request_id":"RQ-fast"}`})
		s := &sleeper{}
		p := testPolicy(s)
		p.AttemptTimeout = 30 * time.Millisecond
		id, err := newTestMeta(f, "v25.0", p, nil).RequestSync(context.Background(), metaNumber(), SyncHistory)
		if err != nil || id != "RQ-fast" {
			t.Fatalf("RequestSync = %q, %v; want RQ-fast", id, err)
		}
		if got := len(f.Calls()); got != 2 {
			t.Errorf("calls = %d, want 2", got)
		}
		if got := s.Waits(); !equalDurations(got, []time.Duration{500 * time.Millisecond}) {
			t.Errorf("waits = %v", got)
		}
	})
	t.Run("every attempt too slow", func(t *testing.T) {
		f := newFake(t, reply{Delay: time.Second, Body: `{}`})
		p := testPolicy(&sleeper{})
		p.AttemptTimeout = 20 * time.Millisecond
		p.MaxAttempts = 3
		start := time.Now()
		_, err := newTestMeta(f, "v25.0", p, nil).RequestSync(context.Background(), metaNumber(), SyncHistory)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want a deadline error", err)
		}
		if !strings.Contains(err.Error(), "attempt timed out after 20ms") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
			t.Errorf("error = %q", err)
		}
		if got := len(f.Calls()); got != 3 {
			t.Errorf("calls = %d, want 3", got)
		}
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("took %s; the attempt timeout was not applied", d)
		}
	})
}

func TestContextCancellation(t *testing.T) {
	t.Run("cancelled before the call", func(t *testing.T) {
		f := newFake(t, reply{Body: `{}`})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).RequestSync(ctx, metaNumber(), SyncHistory)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		if got := len(f.Calls()); got != 0 {
			t.Errorf("calls = %d, want 0", got)
		}
	})
	t.Run("cancelled during the back-off", func(t *testing.T) {
		f := newFake(t, reply{Status: 503, Body: `{"error":{"message":"down","code":2}}`}, reply{Body: `{"request_id":"never"}`})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := &sleeper{onCall: cancel}
		_, err := newTestMeta(f, "v25.0", testPolicy(s), nil).RequestSync(ctx, metaNumber(), SyncHistory)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		var ge *GraphAPIError
		if !errors.As(err, &ge) || ge.Code != 2 {
			t.Errorf("error %v does not keep the last GraphAPIError", err)
		}
		if got := len(f.Calls()); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
	t.Run("cancelled during the call", func(t *testing.T) {
		f := newFake(t, reply{Delay: time.Second, Body: `{}`})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).RequestSync(ctx, metaNumber(), SyncHistory)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want context.DeadlineExceeded", err)
		}
		if got := len(f.Calls()); got != 1 {
			t.Errorf("calls = %d, want 1 (no retry after the caller's deadline)", got)
		}
	})
	t.Run("deadline before the next attempt", func(t *testing.T) {
		f := newFake(t, reply{Status: 429, Body: testdata(t, "graph-error-429.json"), Header: map[string]string{"Retry-After": "60"}}, reply{Body: `{}`})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s := &sleeper{}
		_, err := newTestMeta(f, "v25.0", testPolicy(s), nil).RequestSync(ctx, metaNumber(), SyncHistory)
		var ge *GraphAPIError
		if !errors.As(err, &ge) || ge.Code != 4 || ge.Subcode != 2446079 || !ge.IsTransient {
			t.Fatalf("error = %v, want the 429 GraphAPIError", err)
		}
		if ge.RetryAfter != time.Minute {
			t.Errorf("RetryAfter = %s, want 1m", ge.RetryAfter)
		}
		if w := s.Waits(); len(w) != 0 {
			t.Errorf("slept %v past the deadline", w)
		}
		if got := len(f.Calls()); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
}

func TestInvalidInputMakesNoCall(t *testing.T) {
	tests := []struct {
		name    string
		positus bool
		n       Number
		t       SyncType
		want    string
	}{
		{"unknown sync type", false, metaNumber(), SyncType("everything"), `unknown sync type "everything"`},
		{"no phone number id", false, Number{AccessToken: testToken}, SyncHistory, "phone number id is empty"},
		{"dot-dot id", false, Number{PhoneNumberID: "..", AccessToken: testToken}, SyncHistory, "is not valid"},
		{"no token", false, Number{PhoneNumberID: "1"}, SyncHistory, "no access token"},
		{"positus without its number id", true, metaNumber(), SyncHistory, "Positus number id is empty"},
		{"positus unknown sync type", true, positusNumber(), SyncType(""), "unknown sync type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply{Body: `{}`})
			var c SyncRequester = newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil)
			if tc.positus {
				c = newTestPositus(f, testPolicy(&sleeper{}), nil)
			}
			_, err := c.RequestSync(context.Background(), tc.n, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
			if got := len(f.Calls()); got != 0 {
				t.Errorf("calls = %d, want 0", got)
			}
		})
	}
}

func TestIDsAreEscapedInPaths(t *testing.T) {
	f := newFake(t, reply{Body: `{"request_id":"x"}`})
	n := Number{PhoneNumberID: "12/smb_app_data?x=1", AccessToken: testToken}
	if _, err := newTestMeta(f, "v25.0", testPolicy(&sleeper{}), nil).RequestSync(context.Background(), n, SyncHistory); err != nil {
		t.Fatalf("RequestSync: %v", err)
	}
	c := f.Calls()[0]
	if c.Path != "/v25.0/12/smb_app_data?x=1/smb_app_data" || c.RawQuery != "" {
		t.Errorf("path = %q, query = %q; the id was not escaped", c.Path, c.RawQuery)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
