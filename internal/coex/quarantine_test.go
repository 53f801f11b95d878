package coex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseQuarantine: an item that cannot be read is an item error of its
// change (which item, why, its JSON) and every other item is returned.
func TestParseQuarantine(t *testing.T) {
	okMsg := `{"from":"5511912345678","id":"wamid.OK","timestamp":"1","type":"text","text":{"body":"oi"}}`
	okMsg2 := `{"from":"5511912345678","id":"wamid.OK2","timestamp":"2","type":"text","text":{"body":"tudo bem?"}}`
	meta := `{"phase":1,"chunk_order":1,"progress":10}`
	forty := strings.Repeat("1234567890", 4)
	tests := []struct {
		name      string
		body      []byte
		wantPath  string
		wantErr   string
		wantWAMID string
		wantKind  string
		wantOK    int // messages (chunks, media, echoes, live), statuses and contacts still read
	}{
		{"chunk_order not an integer", envelope(historyChange(chunkItem(meta, okMsg), chunkItem(`{"phase":1,"chunk_order":"abc","progress":10}`, okMsg2))),
			"history 1", `chunk_order: not an integer: "abc"`, "", ItemHistory, 1},
		{"history item neither chunk nor errors", envelope(historyChange(`{}`, chunkItem(meta, okMsg))), "history 0", "neither a chunk", "", ItemHistory, 1},
		{"history item not an object", envelope(historyChange(`7`, chunkItem(meta, okMsg))), "history 0", "not an object", "", ItemHistory, 1},
		{"progress above 100", envelope(historyChange(chunkItem(`{"progress":101}`, okMsg))), "history 0", "progress: out of range: 101", "", ItemHistory, 0},
		{"negative phase", envelope(historyChange(chunkItem(`{"phase":-1}`, okMsg))), "history 0", "phase: out of range: -1", "", ItemHistory, 0},
		{"fractional chunk_order", envelope(historyChange(chunkItem(`{"chunk_order":1.5}`, okMsg))), "history 0", "chunk_order: not an integer: 1.5", "", ItemHistory, 0},
		{"chunk_order object", envelope(historyChange(chunkItem(`{"chunk_order":{}}`, okMsg))), "history 0", "chunk_order: want a scalar", "", ItemHistory, 0},
		{"empty string progress", envelope(historyChange(chunkItem(`{"progress":""}`, okMsg))), "history 0", "progress: empty string", "", ItemHistory, 0},
		{"threads without metadata", envelope(historyChange(`{"threads":[]}`)), "history 0", "threads without metadata", "", ItemHistory, 0},
		{"bad error code", envelope(historyChange(`{"errors":[{"code":"x"}]}`)), "history 0", "not an integer", "", ItemHistory, 0},

		{"thread without any id", envelope(historyChange(`{"metadata":` + meta + `,"threads":[{"messages":[` + okMsg + `]},{"id":"5521998877665","messages":[` + okMsg2 + `]}]}`)),
			"history 0 thread 0", "thread without id or context.user_id", "", ItemThread, 1},
		{"thread id of wrong type", envelope(historyChange(`{"metadata":` + meta + `,"threads":[{"id":5,"messages":[` + okMsg + `]},{"id":"1","messages":[` + okMsg2 + `]}]}`)),
			"history 0 thread 0", "id:", "", ItemThread, 1},
		{"thread id of 40 digits", envelope(historyChange(`{"metadata":` + meta + `,"threads":[{"id":"` + forty + `","messages":[` + okMsg + `]},{"id":"1","messages":[` + okMsg2 + `]}]}`)),
			"history 0 thread 0", "too long for a phone number (40 characters)", "", ItemThread, 1},

		{"message without id", envelope(historyChange(chunkItem(meta, okMsg, `{"from":"1","type":"text"}`))), "history 0 thread 0 message 1", "missing id", "", ItemMessage, 1},
		{"message not an object", envelope(historyChange(chunkItem(meta, `"text"`, okMsg))), "history 0 thread 0 message 0", "not an object", "", ItemMessage, 1},
		{"from of wrong type", envelope(historyChange(chunkItem(meta, `{"id":"wamid.F","from":5511}`, okMsg))), "history 0 thread 0 message 0", "from: want a string", "wamid.F", ItemMessage, 1},
		{"text body is an object", envelope(historyChange(chunkItem(meta, `{"id":"wamid.T","type":"text","text":{"body":{"x":1}}}`, okMsg))), "history 0 thread 0 message 0", "text: body: want a string", "wamid.T", ItemMessage, 1},
		{"text content of wrong type", envelope(historyChange(chunkItem(meta, `{"id":"wamid.T","type":"text","text":"oi"}`, okMsg))), "message 0", "text: want an object", "wamid.T", ItemMessage, 1},
		{"bad timestamp", envelope(historyChange(chunkItem(meta, `{"id":"wamid.T","timestamp":"yesterday"}`, okMsg))), "message 0", `timestamp: not an integer: "yesterday"`, "wamid.T", ItemMessage, 1},
		{"overflowing timestamp", envelope(historyChange(chunkItem(meta, okMsg, `{"id":"wamid.T","timestamp":"99999999999999999999999"}`))), "message 1", "timestamp: not an integer", "wamid.T", ItemMessage, 1},
		{"from_me not a boolean", envelope(historyChange(chunkItem(meta, `{"id":"wamid.T","history_context":{"from_me":"maybe"}}`, okMsg))), "message 0", "from_me: not a boolean", "wamid.T", ItemMessage, 1},
		{"from_me a number", envelope(historyChange(chunkItem(meta, `{"id":"wamid.T","history_context":{"from_me":1}}`, okMsg))), "message 0", "from_me: not a boolean", "wamid.T", ItemMessage, 1},
		{"id is a 40-digit number", envelope(historyChange(chunkItem(meta, `{"id":`+forty+`,"type":"text","text":{"body":"x"}}`, okMsg))), "message 0", "id: want a string", "", ItemMessage, 1},
		{"from of 40 digits", envelope(historyChange(chunkItem(meta, `{"id":"wamid.L","from":"`+forty+`","type":"text"}`, okMsg))), "message 0", "from: too long for a phone number", "wamid.L", ItemMessage, 1},
		{"id too long", envelope(historyChange(chunkItem(meta, `{"id":"wamid.`+strings.Repeat("A", 200)+`"}`, okMsg))), "message 0", "id: too long", "wamid." + strings.Repeat("A", 185), ItemMessage, 1},
		{"bad latitude", envelope(historyChange(chunkItem(meta, `{"id":"wamid.T","type":"location","location":{"latitude":"north"}}`, okMsg))), "message 0", "not a number", "wamid.T", ItemMessage, 1},

		{"history value not an object", envelope(`{"field":"history","value":"nope"}`), "value", "value is not an object", "", ItemValue, 0},
		{"media update without id", envelope(`{"field":"history","value":{"messages":[{"type":"image"},` + okMsg + `]}}`), "messages 0", "missing id", "", ItemMessage, 1},
		{"revoke without original", envelope(`{"field":"smb_message_echoes","value":{"message_echoes":[{"to":"1","id":"wamid.R","type":"revoke","revoke":{}},{"to":"1","id":"wamid.OK","type":"text","text":{"body":"x"}}]}}`),
			"echo 0", "revoke: missing original_message_id", "wamid.R", ItemMessage, 1},
		{"edit without original", envelope(`{"field":"smb_message_echoes","value":{"message_echoes":[{"to":"1","id":"wamid.E","type":"edit","edit":{"message":{"type":"text","text":{"body":"x"}}}}]}}`),
			"echo 0", "edit: missing original_message_id", "wamid.E", ItemMessage, 0},
		{"live message of wrong type", envelope(`{"field":"messages","value":{"messages":[{"id":"wamid.X","timestamp":[1]},` + okMsg + `]}}`), "message 0", "timestamp", "wamid.X", ItemMessage, 1},
		{"contact without phone or user id", envelope(`{"field":"smb_app_state_sync","value":{"state_sync":[{"type":"contact","action":"add","contact":{"full_name":"X"}},{"type":"contact","contact":{"phone_number":"1"}}]}}`),
			"state_sync 0", "contact without phone_number or user_id", "", ItemContact, 1},
		{"contact bad timestamp", envelope(`{"field":"smb_app_state_sync","value":{"state_sync":[{"type":"contact","contact":{"phone_number":"1"},"metadata":{"timestamp":"soon"}}]}}`),
			"state_sync 0", "timestamp", "", ItemContact, 0},
		{"status without id", envelope(`{"field":"messages","value":{"statuses":[{"status":"read"},{"id":"wamid.S2","status":"read"}]}}`), "status 0", "missing id", "", ItemStatus, 1},
		{"status bad timestamp", envelope(`{"field":"messages","value":{"statuses":[{"id":"wamid.S","timestamp":[1]}]}}`), "status 0", "want a scalar", "wamid.S", ItemStatus, 0},
		{"account event of wrong type", envelope(`{"field":"account_update","value":{"event":5}}`), "value", "event", "", ItemValue, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var errs []ItemError
			ok := 0
			for _, c := range b.Changes {
				errs = append(errs, c.ItemErrors...)
				for _, ch := range c.Chunks {
					ok += len(ch.Messages)
				}
				ok += len(c.MediaUpdates) + len(c.Messages) + len(c.Statuses) + len(c.Contacts) + len(c.Edits) + len(c.Revokes)
			}
			if len(errs) != 1 {
				t.Fatalf("got %d item errors, want 1: %+v", len(errs), errs)
			}
			e := errs[0]
			if !strings.Contains(e.Path, tt.wantPath) || !strings.Contains(e.Err, tt.wantErr) || e.WAMID != tt.wantWAMID || e.Kind != tt.wantKind {
				t.Fatalf("item error = %+v (%s)\nwant path %q, err containing %q, wamid %q, kind %q", e, e.Error(), tt.wantPath, tt.wantErr, tt.wantWAMID, tt.wantKind)
			}
			if len(e.Raw) == 0 || !json.Valid(e.Raw) {
				t.Fatalf("item error raw is not valid JSON: %q", e.Raw)
			}
			if ok != tt.wantOK {
				t.Fatalf("got %d items read, want %d", ok, tt.wantOK)
			}
		})
	}
}

// TestParsePoisonedChunk: a 2,000-message chunk with one poisoned message of
// each kind returns the other messages, and one item error per poison.
func TestParsePoisonedChunk(t *testing.T) {
	forty := strings.Repeat("9876543210", 4)
	poisons := map[int]struct{ msg, err string }{
		100:  {`{"from":"5511912345678","id":"wamid.P100","timestamp":"99999999999999999999","type":"text","text":{"body":"x"}}`, "timestamp"},
		300:  {`{"from":"5511912345678","id":"wamid.P300","timestamp":"1","type":"text","text":{"body":"x"},"history_context":{"status":"read","from_me":"sim"}}`, "from_me"},
		500:  {`{"from":"5511912345678","timestamp":"1","type":"text","text":{"body":"no id"}}`, "missing id"},
		700:  {`{"from":"5511912345678","id":"wamid.P700","timestamp":"1","type":"text","text":{"body":{"nested":true}}}`, "text"},
		900:  {`{"from":"5511912345678","id":` + forty + `,"timestamp":"1","type":"text","text":{"body":"x"}}`, "id"},
		1100: {`{"from":"` + forty + `","id":"wamid.P1100","timestamp":"1","type":"text","text":{"body":"x"}}`, "from"},
	}
	var msgs []string
	for i := 0; i < 2000; i++ {
		if p, ok := poisons[i]; ok {
			msgs = append(msgs, p.msg)
			continue
		}
		body := fmt.Sprintf("mensagem %d", i)
		if i == 1500 {
			body = "caf\xe9 com p\xe3o" // Latin-1 bytes: invalid UTF-8, kept with replacement characters
		}
		msgs = append(msgs, fmt.Sprintf(`{"from":"5511912345678","id":"wamid.M%d","timestamp":"%d","type":"text","text":{"body":"%s"}}`, i, 1760000000+i, body))
	}
	body := envelope(historyChange(chunkItem(`{"phase":0,"chunk_order":1,"progress":100}`, msgs...)))
	b, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	c := onlyChange(t, b)
	if len(c.Chunks) != 1 {
		t.Fatalf("got %d chunks", len(c.Chunks))
	}
	got := c.Chunks[0].Messages
	if len(got) != 2000-len(poisons) {
		t.Fatalf("got %d messages, want %d", len(got), 2000-len(poisons))
	}
	if len(c.ItemErrors) != len(poisons) {
		t.Fatalf("got %d item errors, want %d: %+v", len(c.ItemErrors), len(poisons), c.ItemErrors)
	}
	for _, e := range c.ItemErrors {
		var idx int
		if _, err := fmt.Sscanf(e.Path, "history 0 thread 0 message %d", &idx); err != nil {
			t.Fatalf("path %q: %v", e.Path, err)
		}
		p, ok := poisons[idx]
		if !ok || !strings.Contains(e.Err, p.err) || e.ContactWAID != mariana {
			t.Errorf("item error %+v does not match poison %d (%q)", e, idx, p.err)
		}
	}
	for _, m := range got {
		if !utf8.ValidString(m.Text) || !utf8.Valid(m.Raw) || !json.Valid(m.Raw) {
			t.Fatalf("message %s: text or raw not valid UTF-8 / JSON: %q %q", m.WAMID, m.Text, m.Raw)
		}
		if m.WAMID == "wamid.M1500" {
			if m.Text != "caf\uFFFD com p\uFFFDo" || !bytes.Contains(m.Raw, []byte("caf\uFFFD com p\uFFFDo")) {
				t.Fatalf("invalid UTF-8 not replaced: text %q raw %q", m.Text, m.Raw)
			}
		}
	}
	if !utf8.Valid(c.Raw) {
		t.Fatal("change raw is not valid UTF-8")
	}
}

// TestParseMemberOrder: members may come in any order (field after value,
// metadata after history, messages before a thread's id).
func TestParseMemberOrder(t *testing.T) {
	body := []byte(`{"entry":[{"changes":[{"value":{"history":[{"threads":[{"messages":[` +
		`{"from":"` + testDisplay + `","id":"wamid.O1","timestamp":"5","type":"text","text":{"body":"a"}},` +
		`{"from":"` + mariana + `","id":"wamid.O2","timestamp":"6","type":"text","text":{"body":"b"}}],"id":"` + mariana + `"}],` +
		`"metadata":{"phase":2,"chunk_order":4,"progress":100}}],` +
		`"metadata":{"display_phone_number":"` + testDisplay + `","phone_number_id":"` + testPhoneID + `"}},"field":"history"}],"id":"` + testWABA + `"}],` +
		`"object":"whatsapp_business_account"}`)
	b, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	c := onlyChange(t, b)
	checkIDs(t, c, FieldHistory)
	ch := c.Chunks[0]
	if ch.Phase != 2 || ch.ChunkOrder != 4 || ch.Progress != 100 || len(ch.Messages) != 2 {
		t.Fatalf("chunk = %+v", ch)
	}
	if m := ch.Messages[0]; m.Direction != DirectionOutbound || m.ContactWAID != mariana {
		t.Fatalf("first message = %+v", m)
	}
	if m := ch.Messages[1]; m.Direction != DirectionInbound || m.ContactWAID != mariana {
		t.Fatalf("second message = %+v", m)
	}
	if !bytes.Contains(body, c.Raw) || !json.Valid(c.Raw) {
		t.Fatalf("change raw = %q", c.Raw)
	}
}
