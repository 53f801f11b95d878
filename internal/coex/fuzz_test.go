package coex

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, name := range files {
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{"", "[]", "{}", "null", `{"object":"whatsapp_business_account","entry":[]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{"history":[{"metadata":{"chunk_order":"1"}}]}}]}]}`} {
		f.Add([]byte(s))
	}
	// The shapes of §11 and §12: username users (empty phone, BSUID), every
	// message kind, customer edits, statuses to a BSUID, account events, and
	// poisoned items that must be quarantined one by one.
	msgs := []string{
		`{"from":"","from_user_id":"user.4f1c","id":"wamid.B1","timestamp":"1760950000","type":"text","text":{"body":"Vocês entregam hoje?"},"history_context":{"status":"read"}}`,
		`{"from":"5511","id":"wamid.C1","timestamp":"1","type":"contacts","contacts":[{"name":{"formatted_name":"Ana"},"phones":[{"phone":"+55 11","wa_id":"5511","type":"CELL"}],"emails":[{"email":"a@b"}],"org":{"company":"X"}}]}`,
		`{"from":"5511","id":"wamid.O1","timestamp":"1","type":"order","order":{"catalog_id":"c","text":"t","product_items":[{"product_retailer_id":"p","quantity":"2","item_price":1.5,"currency":"BRL"}]}}`,
		`{"from":"5511","id":"wamid.S1","timestamp":"1","type":"system","system":{"body":"changed","type":"user_changed_number","wa_id":"5512"}}`,
		`{"from":"5511","id":"wamid.I1","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"i","title":"T","description":"D"}},"context":{"from":"5500","id":"wamid.Q","forwarded":true}}`,
		`{"from":"5511","id":"wamid.U1","timestamp":"1","type":"unsupported","unsupported":{"type":"x"},"errors":[{"code":131051,"title":"Message type unknown"}]}`,
		`{"from":"5511","id":"wamid.D1","timestamp":"1","type":"document","document":{"id":"9","filename":"f.pdf","caption":"c"},"referral":{"source_type":"ad","headline":"h"}}`,
		`{"from":"5511","id":"wamid.P1","timestamp":"99999999999999999999","type":"text","text":{"body":"x"}}`,
		`{"from":"5511","id":"wamid.P2","timestamp":"1","type":"text","text":{"body":"x"},"history_context":{"from_me":"maybe"}}`,
		`{"from":"5511","timestamp":"1","type":"text","text":{"body":"no id"}}`,
		`{"from":"5511","id":"wamid.P4","timestamp":"1","type":"text","text":{"body":{"x":1}}}`,
		`{"from":"5511","id":1234567890123456789012345678901234567890,"timestamp":"1","type":"text"}`,
		"{\"from\":\"5511\",\"id\":\"wamid.P6\",\"timestamp\":\"1\",\"type\":\"text\",\"text\":{\"body\":\"caf\xe9\"}}",
	}
	env := func(change string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` + change + `]}]}`
	}
	meta := `"metadata":{"display_phone_number":"5500","phone_number_id":"2"}`
	f.Add([]byte(env(`{"field":"history","value":{` + meta + `,"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[` +
		`{"id":"","context":{"wa_id":"","user_id":"user.4f1c","username":"lu","country_code":"BR"},"messages":[` + strings.Join(msgs, ",") + `]},` +
		`{"messages":[` + msgs[1] + `]}]}]}}`)))
	f.Add([]byte(env(`{"field":"messages","value":{` + meta + `,"contacts":[{"wa_id":"","user_id":"user.x","profile":{"name":"Lu","username":"lu"}}],"messages":[` +
		strings.Join(msgs, ",") + `,{"from":"5511","id":"wamid.E","timestamp":"2","type":"edit","edit":{"original_message_id":"wamid.C1","message":{"type":"text","text":{"body":"new"}}}},` +
		`{"from":"","from_user_id":"user.x","id":"wamid.R","timestamp":"3","type":"revoke","revoke":{"original_message_id":"wamid.B1"}}],` +
		`"statuses":[{"id":"wamid.API","status":"failed","timestamp":"4","recipient_id":"","recipient_user_id":"user.x","errors":[{"code":131026}],"pricing":{"billable":false,"category":"utility"},"conversation":{"id":"c","origin":{"type":"utility"}}}]}}`)))
	f.Add([]byte(env(`{"field":"smb_app_state_sync","value":{` + meta + `,"state_sync":[{"type":"contact","action":"add","contact":{"phone_number":"","user_id":"user.x","username":"lu"},"metadata":{"timestamp":"1"}}]}}`)))
	f.Add([]byte(env(`{"field":"smb_message_echoes","value":{` + meta + `,"message_echoes":[{"from":"5500","to":"","to_user_id":"user.x","id":"wamid.EC","timestamp":"1","type":"text","text":{"body":"oi"}}]}}`)))
	f.Add([]byte(env(`{"value":{"phone_number":"5500","event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"3"}},"field":"account_update"}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		batch, err := Parse(body)
		if err != nil {
			if batch != nil {
				t.Fatal("batch and error together")
			}
			if !errors.Is(err, ErrNotEnvelope) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		for _, c := range batch.Changes {
			var all []Message
			for _, ch := range c.Chunks {
				all = append(all, ch.Messages...)
			}
			all = append(all, c.MediaUpdates...)
			all = append(all, c.Messages...)
			for _, m := range all {
				if m.WAMID == "" || !json.Valid(m.Raw) || !utf8.Valid(m.Raw) {
					t.Fatalf("message without id or with invalid raw: %+v", m)
				}
				if m.Direction != DirectionInbound && m.Direction != DirectionOutbound {
					t.Fatalf("bad direction %q", m.Direction)
				}
				if !utf8.ValidString(m.Text) || m.Text != RenderText(&m) {
					t.Fatalf("text %q is not valid UTF-8 or not its rendering", m.Text)
				}
				if len(m.WAMID) > MaxIDLength || len(m.ContactWAID) > MaxPhoneLength || len(m.ContactUserID) > MaxUserIDLength {
					t.Fatalf("identifier too long: %+v", m)
				}
			}
			for _, ch := range c.Chunks {
				for _, m := range ch.Messages {
					if m.ContactWAID == "" && m.ContactUserID == "" {
						t.Fatalf("history message without contact: %+v", m)
					}
				}
			}
			for _, m := range c.Messages {
				if m.ContactWAID == "" && m.ContactUserID == "" {
					t.Fatalf("message without contact: %+v", m)
				}
			}
			for _, e := range c.ItemErrors {
				if e.Err == "" || e.Path == "" || !utf8.ValidString(e.Err) || (e.Raw != nil && (!json.Valid(e.Raw) || !utf8.Valid(e.Raw))) {
					t.Fatalf("bad item error: %+v", e)
				}
			}
			if c.Raw != nil && (!json.Valid(c.Raw) || !utf8.Valid(c.Raw)) {
				t.Fatalf("change raw is not valid JSON: %q", c.Raw)
			}
			for _, ch := range c.Chunks {
				if ch.Progress < 0 || ch.Progress > 100 || ch.Phase < 0 || ch.ChunkOrder < 0 {
					t.Fatalf("chunk out of range: %+v", ch)
				}
			}
		}
	})
}
