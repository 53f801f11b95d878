package provider

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryPolicyWait(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Factor: 2, Cap: 5 * time.Minute}
	tests := []struct {
		retry int
		rand  float64
		least time.Duration
		want  time.Duration
	}{
		{1, 0.999, 0, 999 * time.Millisecond},
		{1, 0, 0, 0},
		{2, 0.5, 0, time.Second},
		{3, 0.5, 0, 2 * time.Second},
		{6, 0.5, 0, 16 * time.Second},
		{10, 0.5, 0, 150 * time.Second}, // 512 s ceiling capped at 300 s
		{30, 0.999, 0, 299700 * time.Millisecond},
		{1, 0.5, 40 * time.Second, 40 * time.Second}, // the upstream's wait wins
		{3, 0.5, time.Second, 2 * time.Second},       // the jitter is longer
		{1, 0.5, time.Hour, 5 * time.Minute},         // never beyond the cap
		{1, 7, 0, time.Second},                       // a bad draw is kept in range
	}
	for _, tc := range tests {
		p.Rand = func() float64 { return tc.rand }
		if got := p.wait(tc.retry, tc.least); got != tc.want {
			t.Errorf("wait(retry %d, rand %v, least %s) = %s, want %s", tc.retry, tc.rand, tc.least, got, tc.want)
		}
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	if p.MaxAttempts != 6 || p.Base != time.Second || p.Factor != 2 || p.Cap != 5*time.Minute || p.AttemptTimeout != 15*time.Second {
		t.Errorf("defaults = %+v", p)
	}
	if p.Rand == nil || p.Sleep == nil {
		t.Fatal("Rand or Sleep missing")
	}
	for range 100 {
		if r := p.Rand(); r < 0 || r >= 1 {
			t.Fatalf("Rand() = %v", r)
		}
	}
	kept := RetryPolicy{MaxAttempts: 2, Base: time.Millisecond, Factor: 3, Cap: time.Second, AttemptTimeout: time.Millisecond}.withDefaults()
	if kept.MaxAttempts != 2 || kept.Base != time.Millisecond || kept.Factor != 3 || kept.Cap != time.Second || kept.AttemptTimeout != time.Millisecond {
		t.Errorf("set fields were replaced: %+v", kept)
	}
}

func TestSleepContext(t *testing.T) {
	start := time.Now()
	if err := sleepContext(context.Background(), 2*time.Millisecond); err != nil {
		t.Fatalf("sleep: %v", err)
	}
	if time.Since(start) < 2*time.Millisecond {
		t.Error("returned early")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); err != context.Canceled {
		t.Errorf("sleep on a cancelled context = %v", err)
	}
}

func TestWaitHint(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"retry-after seconds", http.Header{"Retry-After": {"120"}}, 2 * time.Minute},
		{"retry-after garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"retry-after negative", http.Header{"Retry-After": {"-5"}}, 0},
		{"retry-after NaN", http.Header{"Retry-After": {"NaN"}}, 0},
		{"retry-after huge", http.Header{"Retry-After": {"99999999999999"}}, maxHint},
		{"usage minutes, max of entries", http.Header{"X-Business-Use-Case-Usage": {
			`{"1":[{"type":"whatsapp","estimated_time_to_regain_access":0},{"estimated_time_to_regain_access":4}],"2":[{"estimated_time_to_regain_access":2}]}`}}, 4 * time.Minute},
		{"usage malformed", http.Header{"X-Business-Use-Case-Usage": {`{"1":`}}, 0},
		{"larger of both", http.Header{"Retry-After": {"30"}, "X-Business-Use-Case-Usage": {`{"1":[{"estimated_time_to_regain_access":1}]}`}}, time.Minute},
	}
	for _, tc := range tests {
		if got := waitHint(tc.header); got != tc.want {
			t.Errorf("%s: waitHint = %s, want %s", tc.name, got, tc.want)
		}
	}
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	if got := waitHint(http.Header{"Retry-After": {date}}); got < 80*time.Second || got > 90*time.Second {
		t.Errorf("Retry-After date: waitHint = %s, want about 90s", got)
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	echo := `{"error":{"message":"Invalid token ` + testToken + `","type":"OAuthException ` + testToken + `","code":2,"is_transient":true,` +
		`"error_user_title":"` + testToken + `","error_user_msg":"bad ` + testToken + `","fbtrace_id":"` + testToken + `","error_data":{"details":"token ` + testToken + `"}}}`
	tests := []struct {
		name    string
		replies []reply
		events  bool
		attempt time.Duration
	}{
		{"graph error echoing the token", []reply{{Status: 500, Body: echo}}, false, 0},
		{"non-JSON body echoing the token", []reply{{Status: 502, Body: "upstream saw Authorization: Bearer " + testToken}}, false, 0},
		{"positus-style body echoing the token", []reply{{Status: 500, Body: `{"message":"bad ` + testToken + `"}`}}, false, 0},
		{"events error echoing the token", []reply{{Status: 500, Body: echo}}, true, 0},
		{"timeouts", []reply{{Delay: time.Second}}, false, 10 * time.Millisecond},
		{"dropped connections", []reply{{HangUp: true}}, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.replies...)
			var logs logBuffer
			p := testPolicy(&sleeper{})
			p.MaxAttempts = 2
			if tc.attempt > 0 {
				p.AttemptTimeout = tc.attempt
			}
			m := newTestMeta(f, "v25.0", p, logs.Logger())
			var err error
			if tc.events {
				_, err = m.MessageEvents(context.Background(), metaNumber(), historyID, EventsQuery{})
			} else {
				_, err = m.RequestSync(context.Background(), metaNumber(), SyncHistory)
			}
			if err == nil {
				t.Fatal("want an error")
			}
			texts := map[string]string{"error": err.Error(), "logs": logs.String()}
			var ge *GraphAPIError
			if errors.As(err, &ge) {
				texts["safe message"] = ge.SafeMessage()
				texts["fields"] = strings.Join([]string{ge.Message, ge.Type, ge.UserTitle, ge.UserMsg, ge.FBTraceID, ge.Details}, "|")
			}
			for what, text := range texts {
				if strings.Contains(text, testToken) {
					t.Errorf("%s holds the token: %s", what, text)
				}
			}
			if !strings.Contains(logs.String(), "retrying") {
				t.Errorf("no retry was logged: %q", logs.String())
			}
			if len(f.Calls()) != 2 {
				t.Errorf("calls = %d, want 2", len(f.Calls()))
			}
		})
	}
}
