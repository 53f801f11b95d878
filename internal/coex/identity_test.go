package coex

import (
	"testing"
)

const (
	luBSUID = "user.4f1c2a9d8e7b6c5a4f3e2d1c0b9a8f7e"
	luName  = "padaria.lu"
)

func change(field, value string) string {
	return `{"field":"` + field + `","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"` +
		testDisplay + `","phone_number_id":"` + testPhoneID + `"},` + value + `}}`
}

// TestParseBSUIDEverywhere: both identifiers (phone number and business-scoped
// user id) and the username are read from every payload that carries them (§11).
func TestParseBSUIDEverywhere(t *testing.T) {
	t.Run("history thread of a username user (empty id)", func(t *testing.T) {
		body := envelope(historyChange(`{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[` +
			`{"id":"","context":{"wa_id":"","user_id":"` + luBSUID + `","username":"` + luName + `","country_code":"BR"},` +
			`"messages":[{"from":"","from_user_id":"` + luBSUID + `","id":"wamid.HBgLBSUIDEXAMPLE0001==","timestamp":"1760950000","type":"text","text":{"body":"Vocês entregam hoje?"},"history_context":{"status":"read"}},` +
			`{"from":"` + testDisplay + `","id":"wamid.B2","timestamp":"1760950100","type":"text","text":{"body":"Entregamos!"},"history_context":{"status":"delivered","from_me":true}}]}]}`))
		b, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		c := onlyChange(t, b)
		if len(c.ItemErrors) != 0 || len(c.Chunks) != 1 || len(c.Chunks[0].Messages) != 2 {
			t.Fatalf("errors %+v chunks %+v", c.ItemErrors, c.Chunks)
		}
		in, out := c.Chunks[0].Messages[0], c.Chunks[0].Messages[1]
		for _, m := range []Message{in, out} {
			if m.ContactWAID != "" || m.ContactUserID != luBSUID || m.ContactUsername != luName || m.ContactCountryCode != "BR" {
				t.Fatalf("contact of %s = %q %q %q %q", m.WAMID, m.ContactWAID, m.ContactUserID, m.ContactUsername, m.ContactCountryCode)
			}
		}
		if in.Direction != DirectionInbound || in.FromUserID != luBSUID || in.Text != "Vocês entregam hoje?" || out.Direction != DirectionOutbound {
			t.Fatalf("messages = %+v / %+v", in, out)
		}
	})
	t.Run("history thread with phone and BSUID", func(t *testing.T) {
		body := envelope(historyChange(`{"metadata":{"phase":0,"chunk_order":1,"progress":1},"threads":[` +
			`{"id":"` + mariana + `","context":{"wa_id":"` + mariana + `","user_id":"user.m"},"messages":[{"from":"` + mariana + `","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"oi"}}]}]}`))
		m := mustOne(t, body).Chunks[0].Messages[0]
		if m.ContactWAID != mariana || m.ContactUserID != "user.m" {
			t.Fatalf("contact = %q %q", m.ContactWAID, m.ContactUserID)
		}
	})
	t.Run("history thread known only by its messages' from_user_id", func(t *testing.T) {
		body := envelope(historyChange(`{"metadata":{"phase":0,"chunk_order":1,"progress":1},"threads":[` +
			`{"id":"","messages":[{"from":"","from_user_id":"user.x","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"oi"}}]}]}`))
		m := mustOne(t, body).Chunks[0].Messages[0]
		if m.ContactWAID != "" || m.ContactUserID != "user.x" {
			t.Fatalf("contact = %q %q", m.ContactWAID, m.ContactUserID)
		}
	})
	t.Run("history media follow-up with contacts", func(t *testing.T) {
		body := envelope(change("history", `"contacts":[{"wa_id":"","user_id":"`+luBSUID+`","profile":{"name":"Lu","username":"`+luName+`"},"country_code":"BR"}],`+
			`"messages":[{"from":"","from_user_id":"`+luBSUID+`","id":"wamid.M","timestamp":"2","type":"image","image":{"id":"77","mime_type":"image/jpeg"}}],`+
			`"message_echoes":[{"from":"`+testDisplay+`","to":"","to_user_id":"`+luBSUID+`","id":"wamid.E","timestamp":"3","type":"document","document":{"id":"78","filename":"menu.pdf"}}]`))
		c := mustOne(t, body)
		if len(c.MediaUpdates) != 2 {
			t.Fatalf("media updates = %+v", c.MediaUpdates)
		}
		in, out := c.MediaUpdates[0], c.MediaUpdates[1]
		if in.Direction != DirectionInbound || in.ContactUserID != luBSUID || in.ContactUsername != luName || in.ContactName != "Lu" || in.ContactCountryCode != "BR" || in.MediaID != "77" {
			t.Fatalf("inbound follow-up = %+v", in)
		}
		if out.Direction != DirectionOutbound || out.ContactUserID != luBSUID || out.ContactUsername != luName || out.MediaID != "78" || out.Text != "menu.pdf" {
			t.Fatalf("business follow-up = %+v", out)
		}
	})
	t.Run("echo to a BSUID, linked to a phone by value.contacts", func(t *testing.T) {
		body := envelope(change("smb_message_echoes", `"contacts":[{"wa_id":"`+mariana+`","user_id":"user.m","profile":{"username":"mari"}}],`+
			`"message_echoes":[{"from":"`+testDisplay+`","to":"","to_user_id":"user.m","id":"wamid.E1","timestamp":"3","type":"text","text":{"body":"Bom dia"}},`+
			`{"from":"`+testDisplay+`","to":"`+mariana+`","id":"wamid.E2","timestamp":"4","type":"revoke","revoke":{"original_message_id":"wamid.E1"}}]`))
		c := mustOne(t, body)
		m := c.Messages[0]
		if m.ContactWAID != mariana || m.ContactUserID != "user.m" || m.ContactUsername != "mari" || m.Direction != DirectionOutbound || m.Origin != OriginEcho {
			t.Fatalf("echo = %+v", m)
		}
		if r := c.Revokes[0]; r.ContactWAID != mariana || r.ContactUserID != "user.m" || r.Direction != DirectionOutbound || r.Origin != OriginEcho {
			t.Fatalf("revoke = %+v", r)
		}
	})
	t.Run("live message from a username user", func(t *testing.T) {
		body := envelope(change("messages", `"contacts":[{"profile":{"name":"Lu","username":"`+luName+`"},"wa_id":"","user_id":"`+luBSUID+`","country_code":"BR"}],`+
			`"messages":[{"from":"","from_user_id":"`+luBSUID+`","id":"wamid.L1","timestamp":"5","type":"text","text":{"body":"Oi"}}]`))
		m := mustOne(t, body).Messages[0]
		if m.ContactWAID != "" || m.ContactUserID != luBSUID || m.ContactName != "Lu" || m.ContactUsername != luName || m.ContactCountryCode != "BR" || m.Direction != DirectionInbound {
			t.Fatalf("live message = %+v", m)
		}
	})
	t.Run("contacts sync with and without phone", func(t *testing.T) {
		body := envelope(change("smb_app_state_sync", `"state_sync":[`+
			`{"type":"contact","action":"add","contact":{"full_name":"Lu Padaria","first_name":"Lu","phone_number":"","user_id":"`+luBSUID+`","username":"`+luName+`","country_code":"BR"},"metadata":{"timestamp":"10"}},`+
			`{"type":"contact","action":"add","contact":{"full_name":"Mariana","phone_number":"+`+mariana+`","user_id":"user.m"},"metadata":{"timestamp":11}}]`))
		got := mustOne(t, body).Contacts
		want := []ContactChange{
			{UserID: luBSUID, Username: luName, CountryCode: "BR", FullName: "Lu Padaria", FirstName: "Lu", Timestamp: 10},
			{WAID: mariana, UserID: "user.m", FullName: "Mariana", Timestamp: 11},
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("contacts = %+v\nwant %+v", got, want)
		}
	})
	t.Run("status sent to a BSUID", func(t *testing.T) {
		body := envelope(change("messages", `"contacts":[{"wa_id":"","user_id":"`+luBSUID+`","profile":{"username":"`+luName+`"}}],`+
			`"statuses":[{"id":"wamid.S1","status":"sent","timestamp":"6","recipient_id":"","recipient_user_id":"`+luBSUID+`",`+
			`"conversation":{"id":"conv1","origin":{"type":"marketing"},"expiration_timestamp":"1761000000"},"pricing":{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}}]`))
		s := mustOne(t, body).Statuses[0]
		if s.RecipientWAID != "" || s.RecipientUserID != luBSUID || s.RecipientUsername != luName || s.ConversationOrigin != "marketing" ||
			s.ConversationExpires != 1761000000 || s.Billable == nil || !*s.Billable || s.PricingCategory != "marketing" {
			t.Fatalf("status = %+v", s)
		}
	})
	t.Run("system messages of a changed number and a changed user id", func(t *testing.T) {
		body := envelope(change("messages", `"messages":[`+
			`{"from":"`+mariana+`","id":"wamid.SYS1","timestamp":"7","type":"system","system":{"body":"Mariana changed their phone number to a new number","type":"user_changed_number","wa_id":"5511900001111"}},`+
			`{"from":"`+mariana+`","from_user_id":"user.m","id":"wamid.SYS2","timestamp":"8","type":"system","system":{"body":"User ID changed","type":"user_changed_user_id","user_id":"user.m2"}}]`))
		c := mustOne(t, body)
		a, b := c.Messages[0], c.Messages[1]
		if a.Content == nil || a.Content.System == nil || a.Content.System.Type != SystemUserChangedNumber || a.Content.System.NewWAID != "5511900001111" ||
			a.Text != "Mariana changed their phone number to a new number New number: +5511900001111" || a.ContactWAID != mariana {
			t.Fatalf("changed number = %+v %+v", a, a.Content)
		}
		if b.Content == nil || b.Content.System == nil || b.Content.System.NewUserID != "user.m2" || b.ContactUserID != "user.m" {
			t.Fatalf("changed user id = %+v %+v", b, b.Content)
		}
	})
	t.Run("customer edit and revoke are the customer's", func(t *testing.T) {
		body := envelope(change("messages", `"messages":[`+
			`{"from":"`+mariana+`","id":"wamid.ED","timestamp":"9","type":"edit","edit":{"original_message_id":"wamid.ORIG","message":{"type":"text","text":{"body":"Chego às 14h"}}}},`+
			`{"from":"`+mariana+`","id":"wamid.RV","timestamp":"10","type":"revoke","revoke":{"original_message_id":"wamid.ORIG2"}}]`))
		c := mustOne(t, body)
		if len(c.Messages) != 0 || len(c.Edits) != 1 || len(c.Revokes) != 1 {
			t.Fatalf("messages %d edits %d revokes %d", len(c.Messages), len(c.Edits), len(c.Revokes))
		}
		e, r := c.Edits[0], c.Revokes[0]
		if e.Direction != DirectionInbound || e.Origin != OriginLive || e.OriginalWAMID != "wamid.ORIG" || e.NewText != "Chego às 14h" || e.ContactWAID != mariana {
			t.Fatalf("edit = %+v", e)
		}
		if r.Direction != DirectionInbound || r.Origin != OriginLive || r.OriginalWAMID != "wamid.ORIG2" || r.ContactWAID != mariana {
			t.Fatalf("revoke = %+v", r)
		}
	})
	t.Run("account_update naming one number", func(t *testing.T) {
		body := envelope(`{"field":"account_update","value":{"phone_number":"+55 11 98765-0000","event":"PARTNER_REMOVED","disconnection_info":{"reason":"PRIMARY_INACTIVITY","initiated_by":"SYSTEM"},"waba_info":{"waba_id":"999"}}}`)
		a := mustOne(t, body).Account
		if a == nil || *a != (AccountEvent{Event: EventPartnerRemoved, Reason: "PRIMARY_INACTIVITY", InitiatedBy: "SYSTEM", WABAID: "999", PhoneNumber: testDisplay}) {
			t.Fatalf("account = %+v", a)
		}
	})
	t.Run("account_update with ban and violation information", func(t *testing.T) {
		body := envelope(`{"field":"account_update","value":{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"2026-01-02"},"violation_info":{"violation_type":"SCAM"}}}`)
		a := mustOne(t, body).Account
		if a == nil || a.Event != EventDisabledUpdate || a.Detail != "waba_ban_date=2026-01-02 waba_ban_state=DISABLE violation_type=SCAM" {
			t.Fatalf("account = %+v", a)
		}
	})
}

func mustOne(t *testing.T, body []byte) Change {
	t.Helper()
	b, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	c := onlyChange(t, b)
	if len(c.ItemErrors) != 0 {
		t.Fatalf("item errors: %+v", c.ItemErrors)
	}
	return c
}
