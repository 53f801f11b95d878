package events

import (
	"fmt"
	"strings"
	"testing"

	"coexhistory/models"
)

func ev(source, key, status string, ts int64) models.MessageEvent {
	return models.MessageEvent{Source: source, EventKey: key, DeliveryStatus: status, OccurrenceTS: ts}
}

// describe is a step in one short line: status@time[sources]{flags}.
func describe(steps []Step) string {
	var parts []string
	for _, s := range steps {
		p := fmt.Sprintf("%s@%d[%s]", s.Status, s.OccurrenceTS, strings.Join(s.Sources, "+"))
		if s.WebhookMissing {
			p += "!"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestMerge(t *testing.T) {
	live := models.Message{Direction: models.DirectionOutbound, Origin: models.OriginLive, Status: "sent"}
	imported := models.Message{Direction: models.DirectionOutbound, Origin: models.OriginHistory, Status: "read",
		Raw: `{"id":"wamid.X","history_context":{"status":"DELIVERED"}}`}
	cases := []struct {
		name       string
		msg        models.Message
		events     []models.MessageEvent
		wantStatus string
		wantSteps  string
	}{
		{
			name: "webhook and API event of the same step are one step",
			msg:  live,
			events: []models.MessageEvent{
				ev("api", "e1", "SENT", 100), ev("api", "e2", "DELIVERED", 105), ev("api", "e3", "READ", 900),
				ev("webhook", "sent100", "sent", 101), ev("webhook", "delivered104", "delivered", 104), ev("webhook", "read903", "read", 903),
			},
			wantStatus: "read",
			wantSteps:  "sent@100[api+webhook] delivered@105[api+webhook] read@900[api+webhook]",
		},
		{
			name: "same status too far apart stays two steps; a missed webhook is flagged",
			msg:  live,
			events: []models.MessageEvent{
				ev("api", "e1", "DELIVERED", 100), ev("webhook", "delivered200", "delivered", 200), ev("api", "e2", "READ", 300),
			},
			wantStatus: "read",
			wantSteps:  "delivered@100[api]! delivered@200[webhook] read@300[api]!",
		},
		{
			name: "a late lower status never lowers the displayed one",
			msg:  live,
			events: []models.MessageEvent{
				ev("webhook", "read50", "read", 50), ev("webhook", "delivered90", "delivered", 90), ev("webhook", "sent95", "sent", 95),
			},
			wantStatus: "read",
			wantSteps:  "read@50[webhook] delivered@90[webhook] sent@95[webhook]",
		},
		{
			name:       "stored status higher than every event stays",
			msg:        models.Message{Direction: "outbound", Origin: "live", Status: "read"},
			events:     []models.MessageEvent{ev("api", "e1", "SENT", 10)},
			wantStatus: "read",
			wantSteps:  "sent@10[api]!",
		},
		{
			name:       "failed is error and final",
			msg:        live,
			events:     []models.MessageEvent{ev("api", "e1", "FAILED", 10), ev("webhook", "read20", "read", 20)},
			wantStatus: "error",
			wantSteps:  "error@10[api]! read@20[webhook]",
		},
		{
			name:       "same time orders by rank; unknown values kept",
			msg:        live,
			events:     []models.MessageEvent{ev("api", "e3", "READ", 10), ev("api", "e2", "SENT", 10), ev("api", "e1", "ACCEPTED", 10), ev("api", "e4", "WARPED", 11)},
			wantStatus: "read",
			wantSteps:  "accepted@10[api] sent@10[api]! read@10[api]! warped@11[api]",
		},
		{
			name:       "snapshot without a matching step comes last, without time",
			msg:        imported,
			events:     []models.MessageEvent{ev("api", "e1", "SENT", 10)},
			wantStatus: "read",
			wantSteps:  "sent@10[api] delivered@0[snapshot]",
		},
		{
			name:       "snapshot joins the step with its status",
			msg:        imported,
			events:     []models.MessageEvent{ev("api", "e1", "SENT", 10), ev("api", "e2", "DELIVERED", 20)},
			wantStatus: "read",
			wantSteps:  "sent@10[api] delivered@20[api+snapshot]",
		},
		{
			name:       "snapshot row wins over the raw message",
			msg:        imported,
			events:     []models.MessageEvent{ev("snapshot", "history", "PLAYED", 0)},
			wantStatus: "played",
			wantSteps:  "played@0[snapshot]",
		},
		{
			name:       "imported message without raw status uses the stored one",
			msg:        models.Message{Direction: "outbound", Origin: "history", Status: "pending"},
			wantStatus: "pending",
			wantSteps:  "pending@0[snapshot]",
		},
		{
			name:       "live message without events",
			msg:        live,
			wantStatus: "sent",
			wantSteps:  "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, steps := Merge(tc.msg, tc.events)
			if status != tc.wantStatus {
				t.Errorf("status %q, want %q", status, tc.wantStatus)
			}
			if got := describe(steps); got != tc.wantSteps {
				t.Errorf("steps\n got %s\nwant %s", got, tc.wantSteps)
			}
		})
	}
}

func TestMergeKeepsTheDetailsOfTheStep(t *testing.T) {
	api := models.MessageEvent{Source: "api", EventKey: "7301928374650012", DeliveryStatus: "DELIVERED", OccurrenceTS: 1761040239,
		StatusTS: 1761040240, ApplicationID: "1029384756473829", ApplicationName: "Atende Cloud Inbox",
		WebhookUpdateState: "success", WebhookURI: "https://hooks.example.com/wa"}
	hook := models.MessageEvent{Source: "webhook", EventKey: "delivered1761040245", DeliveryStatus: "delivered", OccurrenceTS: 1761040245,
		ErrorDescription: "from the webhook"}
	_, steps := Merge(models.Message{Direction: "outbound", Origin: "live"}, []models.MessageEvent{hook, api})
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1 (status time within the window): %s", len(steps), describe(steps))
	}
	s := steps[0]
	if s.EventID != "7301928374650012" || s.ApplicationName != "Atende Cloud Inbox" || s.WebhookUpdateState != "SUCCESS" ||
		s.WebhookURI != "https://hooks.example.com/wa" || s.ErrorDescription != "from the webhook" || s.OccurrenceTS != 1761040239 ||
		s.Source() != SourceAPI || s.WebhookMissing {
		t.Fatalf("step %+v", s)
	}
}

func TestParseFilter(t *testing.T) {
	for in, want := range map[string]string{"": "", "all": "", "READ": "read", " failed ": "error", "accepted": "accepted", "played": "played"} {
		got, err := ParseFilter(in)
		if err != nil || got != want {
			t.Errorf("ParseFilter(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFilter("bogus"); err == nil || !strings.Contains(err.Error(), "Unknown status filter") {
		t.Errorf("ParseFilter(bogus) = %v", err)
	}
}
