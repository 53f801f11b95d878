package coex

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	testWABA    = "810023456789012"
	testPhoneID = "623400011122233"
	testDisplay = "5511987650000"
	mariana     = "5511912345678"
	jorge       = "5521998877665"
)

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func parseExample(t *testing.T, name string) ([]byte, *Batch) {
	t.Helper()
	body := readExample(t, name)
	batch, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return body, batch
}

func onlyChange(t *testing.T, b *Batch) Change {
	t.Helper()
	if len(b.Changes) != 1 {
		t.Fatalf("got %d changes, want 1", len(b.Changes))
	}
	return b.Changes[0]
}

func checkIDs(t *testing.T, c Change, field string) {
	t.Helper()
	if c.WABAID != testWABA || c.Field != field || c.PhoneNumberID != testPhoneID || c.DisplayPhoneNumber != testDisplay {
		t.Fatalf("ids = %q %q %q %q, want %q %q %q %q", c.WABAID, c.Field, c.PhoneNumberID, c.DisplayPhoneNumber,
			testWABA, field, testPhoneID, testDisplay)
	}
}

// checkRaw asserts raw is a byte-exact slice of body holding valid JSON.
func checkRaw(t *testing.T, body, raw []byte, mustContain string) {
	t.Helper()
	if len(raw) == 0 || !json.Valid(raw) {
		t.Fatalf("raw is not valid JSON: %q", raw)
	}
	if !bytes.Contains(body, raw) {
		t.Fatalf("raw is not a byte-exact part of the body: %q", raw)
	}
	if !bytes.Contains(raw, []byte(mustContain)) {
		t.Fatalf("raw does not contain %q: %q", mustContain, raw)
	}
}

// compareMessages checks the raw bytes and then compares everything else.
func compareMessages(t *testing.T, body []byte, got, want []Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		g := got[i]
		checkRaw(t, body, g.Raw, g.WAMID)
		g.Raw = nil
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("message %d:\n got  %+v\n want %+v", i, g, want[i])
		}
	}
}

func f64(v float64) *float64 { return &v }

func TestParseHistoryChunk(t *testing.T) {
	body, batch := parseExample(t, "history-chunk.json")
	c := onlyChange(t, batch)
	checkIDs(t, c, FieldHistory)
	checkRaw(t, body, c.Raw, `"history"`)
	if len(c.Chunks) != 1 || len(c.HistoryErrors) != 0 || len(c.MediaUpdates) != 0 || c.Declined() {
		t.Fatalf("chunks/errors/media = %d/%d/%d, want 1/0/0", len(c.Chunks), len(c.HistoryErrors), len(c.MediaUpdates))
	}
	ch := c.Chunks[0]
	if ch.Phase != 1 || ch.ChunkOrder != 3 || ch.Progress != 42 || ch.ThreadCount != 2 {
		t.Fatalf("chunk = phase %d order %d progress %d threads %d, want 1 3 42 2", ch.Phase, ch.ChunkOrder, ch.Progress, ch.ThreadCount)
	}
	const (
		w1 = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjA5QTdGQzE0RDJBOEU0NjExAA=="
		w2 = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjlDMkU3RjQ0QjAxNUE2RDMwMgA="
		w3 = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBBMUIyQzNENEU1RjYwNzA4AA=="
		w4 = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjA3RDY1QTk4MjFCQzQ0RjE5AA=="
		w5 = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjRBMEQ5QzEyRTc3QjM1RjhEMQA="
		w6 = "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEkI3RjAxQzlEMkE0RTY1QzgzMAA="
		w7 = "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABIYFjNFQjBGMjI5OEE3QzE0NUQ2QjNBAA=="
		w8 = "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEjVFNkExMDBDNDdCOTIyRDQ0RQA="
	)
	want := []Message{
		{WAMID: w1, ContactWAID: mariana, From: mariana, Direction: DirectionInbound, Type: "text",
			Text: "Oi! Vocês ainda têm o bolo de cenoura para sábado?", Timestamp: 1760954100,
			Status: StatusRead, Origin: OriginHistory, Position: 0},
		{WAMID: w2, ContactWAID: mariana, From: testDisplay, FromMe: true, Direction: DirectionOutbound, Type: "text",
			Text: "Temos sim! Separo um para você? Retirada até as 14h.", Timestamp: 1760954187,
			Status: StatusRead, Origin: OriginHistory, Position: 1},
		{WAMID: w3, ContactWAID: mariana, From: mariana, Direction: DirectionInbound, Type: TypeMediaPlaceholder,
			Timestamp: 1760954402, Status: StatusRead, Origin: OriginHistory, Position: 2},
		{WAMID: w4, ContactWAID: mariana, From: mariana, Direction: DirectionInbound, Type: "reaction", Text: "\u2764\ufe0f",
			Timestamp: 1760954455, Status: StatusRead, Origin: OriginHistory,
			ReactionTo: w2, ReactionEmoji: "\u2764\ufe0f", Position: 3},
		{WAMID: w5, ContactWAID: mariana, From: testDisplay, FromMe: true, Direction: DirectionOutbound, Type: "location",
			Text: "Doces da Vila — Av. Paulista, 1000 - Bela Vista, São Paulo", Timestamp: 1760954520,
			Status: StatusDelivered, Origin: OriginHistory,
			Content: &Content{Latitude: f64(-23.561684), Longitude: f64(-46.655981),
				LocationName: "Doces da Vila", LocationAddress: "Av. Paulista, 1000 - Bela Vista, São Paulo"}, Position: 4},
		{WAMID: w6, ContactWAID: jorge, From: testDisplay, FromMe: true, Direction: DirectionOutbound, Type: TypeMediaPlaceholder,
			Timestamp: 1758361290, Status: StatusPlayed, Origin: OriginHistory, Position: 0},
		{WAMID: w7, ContactWAID: jorge, From: jorge, Direction: DirectionInbound, Type: "text",
			Text: "Ouvi o áudio, fechado então. Obrigado!", Timestamp: 1758361544,
			Status: StatusRead, Origin: OriginHistory, Position: 1},
		{WAMID: w8, ContactWAID: jorge, From: testDisplay, FromMe: true, Direction: DirectionOutbound, Type: "text",
			Text: "Nós que agradecemos. Pedido #4471 confirmado.", Timestamp: 1758361702,
			Status: StatusSent, Origin: OriginHistory, Position: 2},
	}
	compareMessages(t, body, ch.Messages, want)
}

func TestParseHistoryDeclined(t *testing.T) {
	_, batch := parseExample(t, "history-declined.json")
	c := onlyChange(t, batch)
	checkIDs(t, c, FieldHistory)
	want := []HistoryError{{
		Code:    CodeHistoryDeclined,
		Title:   "History sync turned off by the business in the WhatsApp Business app",
		Message: "History sync turned off by the business in the WhatsApp Business app",
		Details: "The business chose not to share chat history",
	}}
	if !reflect.DeepEqual(c.HistoryErrors, want) {
		t.Fatalf("HistoryErrors = %+v, want %+v", c.HistoryErrors, want)
	}
	if !c.Declined() || !c.HistoryErrors[0].Declined() {
		t.Fatal("Declined() = false, want true")
	}
	if len(c.Chunks) != 0 {
		t.Fatalf("got %d chunks, want 0", len(c.Chunks))
	}
}

func TestParseHistoryMediaUpdate(t *testing.T) {
	body, batch := parseExample(t, "history-media-update.json")
	c := onlyChange(t, batch)
	checkIDs(t, c, FieldHistory)
	if len(c.Chunks) != 0 {
		t.Fatalf("got %d chunks, want 0", len(c.Chunks))
	}
	compareMessages(t, body, c.MediaUpdates, []Message{{
		WAMID:       "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBBMUIyQzNENEU1RjYwNzA4AA==",
		ContactWAID: mariana, From: mariana, Direction: DirectionInbound, Type: "image", Text: "foto do pedido",
		Timestamp: 1760954402, Origin: OriginHistory,
		MediaID: "1184736629105523", MimeType: "image/jpeg",
		Content: &Content{Caption: "foto do pedido", MediaSHA256: "9c1d0f0b5a7e4f3a2c8b6d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f10"},
	}})
}

func TestParseStateSync(t *testing.T) {
	_, batch := parseExample(t, "smb-app-state-sync.json")
	c := onlyChange(t, batch)
	checkIDs(t, c, FieldSMBAppStateSync)
	want := []ContactChange{
		{WAID: mariana, FullName: "Mariana Costa Ribeiro", FirstName: "Mariana", Timestamp: 1760960011},
		{WAID: jorge, FullName: "Seu Jorge (fornecedor)", FirstName: "Jorge", Timestamp: 1760960011},
		{WAID: "5531987001122", Removed: true, Timestamp: 1760960011},
	}
	if !reflect.DeepEqual(c.Contacts, want) {
		t.Fatalf("Contacts =\n %+v\nwant\n %+v", c.Contacts, want)
	}
}

func TestParseEchoes(t *testing.T) {
	body, batch := parseExample(t, "smb-message-echoes.json")
	c := onlyChange(t, batch)
	checkIDs(t, c, FieldSMBMessageEchoes)
	const textID = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjFBQzNFNTc5QjJENEY2ODAxQwA="
	compareMessages(t, body, c.Messages, []Message{
		{WAMID: textID, ContactWAID: mariana, From: testDisplay, Direction: DirectionOutbound, Type: "text",
			Text: "Bom dia, Mariana! Seu bolo já está pronto para retirada.", Timestamp: 1761040233,
			Origin: OriginEcho, Position: 0},
		{WAMID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjdEMkI5RjAwQTFDNDQzRTg1NgA=", ContactWAID: mariana, From: testDisplay,
			Direction: DirectionOutbound, Type: "image", Text: "Olha como ficou", Timestamp: 1761040251,
			Origin: OriginEcho, MediaID: "2093847561029384", MimeType: "image/jpeg",
			Content: &Content{Caption: "Olha como ficou", MediaSHA256: "4b7e2c90d1f35a68e0b2c4d6f8a1b3c5e7092a4c6e8f0b1d3f5a7c9e1b3d5f70"}, Position: 1},
	})
	if len(c.Revokes) != 1 || len(c.Edits) != 0 {
		t.Fatalf("revokes/edits = %d/%d, want 1/0", len(c.Revokes), len(c.Edits))
	}
	r := c.Revokes[0]
	checkRaw(t, body, r.Raw, `"revoke"`)
	r.Raw = nil
	want := Revoke{WAMID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjhGNUEyRDBDMTNCOTRFNzcyMAA=", OriginalWAMID: textID,
		Timestamp: 1761040300, ContactWAID: mariana, Direction: DirectionOutbound, Origin: OriginEcho}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("Revoke = %+v, want %+v", r, want)
	}
}

func TestParseEchoEdit(t *testing.T) {
	body, batch := parseExample(t, "smb-message-echoes-edit.json")
	c := onlyChange(t, batch)
	checkIDs(t, c, FieldSMBMessageEchoes)
	if len(c.Edits) != 1 {
		t.Fatalf("got %d edits, want 1", len(c.Edits))
	}
	e := c.Edits[0]
	checkRaw(t, body, e.Raw, `"edit"`)
	e.Raw = nil
	want := Edit{
		WAMID:         "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjNDOEQyRTFGMEE5QjQ3QzY1NQA=",
		OriginalWAMID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjFBQzNFNTc5QjJENEY2ODAxQwA=",
		NewText:       "Bom dia, Mariana! Seu bolo já está pronto para retirada até as 14h.",
		NewType:       "text",
		Timestamp:     1761040400, ContactWAID: mariana, Direction: DirectionOutbound, Origin: OriginEcho,
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("Edit = %+v, want %+v", e, want)
	}
	compareMessages(t, body, c.Messages, []Message{{
		WAMID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjA3RjJCOEU0RDFDNkE5MzA1QgA=", ContactWAID: mariana, From: testDisplay,
		Direction: DirectionOutbound, Type: "document", Text: "nf-4471.pdf — Nota fiscal", Timestamp: 1761040460,
		Origin: OriginEcho, MediaID: "3948571029384756", MimeType: "application/pdf",
		Content: &Content{MediaSHA256: "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
			Filename: "nf-4471.pdf", Caption: "Nota fiscal"}, Position: 1,
	}})
}

func TestParseLiveMessagesAndStatuses(t *testing.T) {
	body, batch := parseExample(t, "messages-live.json")
	if len(batch.Changes) != 2 {
		t.Fatalf("got %d changes, want 2", len(batch.Changes))
	}
	msgs, stats := batch.Changes[0], batch.Changes[1]
	checkIDs(t, msgs, FieldMessages)
	checkIDs(t, stats, FieldMessages)
	if len(msgs.Statuses) != 0 || len(stats.Messages) != 0 {
		t.Fatalf("statuses in first change = %d, messages in second = %d, want 0/0", len(msgs.Statuses), len(stats.Messages))
	}
	compareMessages(t, body, msgs.Messages, []Message{
		{WAMID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBDNzE4QUE5RjIwQjQ1RDcwAA==", ContactWAID: mariana, From: mariana,
			ContactName: "Mariana", Direction: DirectionInbound, Type: "text",
			Text: "Chego às 13h para buscar, pode ser?", Timestamp: 1761043010, Origin: OriginLive, Position: 0},
		{WAMID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjBENjYxMEYyQTc3QjlDODE0AA==", ContactWAID: mariana, From: mariana,
			ContactName: "Mariana", Direction: DirectionInbound, Type: "unsupported", Timestamp: 1761043022,
			Text:   "Message type is currently not supported. — Message type is not currently supported",
			Origin: OriginLive, ErrorCode: 131060, ErrorTitle: "Message type is currently not supported.", Position: 1,
			Content: &Content{Unsupported: "edit", Errors: []MessageError{{Code: 131060, Title: "Message type is currently not supported.",
				Message: "Message type is currently not supported.", Details: "Message type is not currently supported"}}}},
	})
	const sentID = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjI1QkE4RTNDMDc5RjFBNjREMQA="
	want := []StatusUpdate{
		{WAMID: sentID, Status: StatusDelivered, Timestamp: 1761043101, RecipientWAID: mariana,
			ConversationID: "c41f2b7a9e0d3f5a8b1c6e2d4f7a9b0c", ConversationOrigin: "service",
			Billable: new(bool), PricingModel: "PMP", PricingCategory: "service", PricingType: "free_customer_service"},
		{WAMID: sentID, Status: StatusRead, Timestamp: 1761043140, RecipientWAID: mariana},
		{WAMID: "wamid.HBgNNTUyMTk5ODg3NzY2NRUCABEYEjdBQjQ5MEUxRjI4QzM1RDA2OQA=", Status: StatusError,
			Timestamp: 1761043155, RecipientWAID: jorge, ErrorCode: 131047, ErrorTitle: "Re-engagement message",
			Errors: []MessageError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
				Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}},
	}
	if len(stats.Statuses) != len(want) {
		t.Fatalf("got %d statuses, want %d", len(stats.Statuses), len(want))
	}
	for i, s := range stats.Statuses {
		checkRaw(t, body, s.Raw, s.WAMID)
		s.Raw = nil
		if !reflect.DeepEqual(s, want[i]) {
			t.Errorf("status %d = %+v, want %+v", i, s, want[i])
		}
	}
	if !bytes.Contains(stats.Statuses[0].Raw, []byte(`"pricing"`)) {
		t.Error("status raw lost the pricing object")
	}
}

func TestParseAccountUpdate(t *testing.T) {
	_, batch := parseExample(t, "account-update.json")
	want := []AccountEvent{
		{Event: EventPartnerRemoved, Reason: "PRIMARY_INACTIVITY", InitiatedBy: "SYSTEM", WABAID: testWABA},
		{Event: EventAccountReconnected, WABAID: testWABA},
	}
	if len(batch.Changes) != len(want) {
		t.Fatalf("got %d changes, want %d", len(batch.Changes), len(want))
	}
	for i, c := range batch.Changes {
		if c.Field != FieldAccountUpdate || c.WABAID != testWABA || c.Account == nil {
			t.Fatalf("change %d = field %q waba %q account %v", i, c.Field, c.WABAID, c.Account)
		}
		if *c.Account != want[i] {
			t.Errorf("change %d account = %+v, want %+v", i, *c.Account, want[i])
		}
	}
}

// envelope wraps change objects (JSON text) in one entry.
func envelope(changes ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + testWABA + `","changes":[` +
		strings.Join(changes, ",") + `]}]}`)
}

func historyChange(items ...string) string {
	return `{"field":"history","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"` +
		testDisplay + `","phone_number_id":"` + testPhoneID + `"},"history":[` + strings.Join(items, ",") + `]}}`
}

func chunkItem(meta string, messages ...string) string {
	return `{"metadata":` + meta + `,"threads":[{"id":"` + mariana + `","messages":[` + strings.Join(messages, ",") + `]}]}`
}

func TestParseNumericStrings(t *testing.T) {
	msg := `{"from":"5511912345678","id":"wamid.A","timestamp":1760954100,"type":"text","text":{"body":"oi"},"history_context":{"status":"read"}}`
	tests := []struct {
		name                   string
		meta                   string
		phase, order, progress int
	}{
		{"numbers", `{"phase":0,"chunk_order":1,"progress":5}`, 0, 1, 5},
		{"strings", `{"phase":"2","chunk_order":"7","progress":"100"}`, 2, 7, 100},
		{"strings with spaces", `{"phase":" 1 ","chunk_order":" 12","progress":"55 "}`, 1, 12, 55},
		{"integral floats", `{"phase":1.0,"chunk_order":3e1,"progress":"42.0"}`, 1, 30, 42},
		{"missing fields are zero", `{"chunk_order":4}`, 0, 4, 0},
		{"nulls are zero", `{"phase":null,"chunk_order":9,"progress":null}`, 0, 9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch, err := Parse(envelope(historyChange(chunkItem(tt.meta, msg))))
			if err != nil {
				t.Fatal(err)
			}
			ch := onlyChange(t, batch).Chunks[0]
			if ch.Phase != tt.phase || ch.ChunkOrder != tt.order || ch.Progress != tt.progress {
				t.Fatalf("got phase %d order %d progress %d, want %d %d %d", ch.Phase, ch.ChunkOrder, ch.Progress, tt.phase, tt.order, tt.progress)
			}
			if len(ch.Messages) != 1 || ch.Messages[0].Timestamp != 1760954100 {
				t.Fatalf("messages = %+v, want one with timestamp 1760954100", ch.Messages)
			}
		})
	}
}

func TestParseHistoryStatusAndDirection(t *testing.T) {
	tests := []struct {
		name          string
		display       string
		from          string
		context       string
		wantDirection string
		wantStatus    string
	}{
		{"uppercase status, user sender", testDisplay, mariana, `{"status":"READ"}`, DirectionInbound, StatusRead},
		{"mixed case status", testDisplay, mariana, `{"status":"Delivered"}`, DirectionInbound, StatusDelivered},
		{"lowercase pending on incoming is kept", testDisplay, mariana, `{"status":"pending"}`, DirectionInbound, StatusPending},
		{"from equals business number", testDisplay, testDisplay, `{"status":"SENT"}`, DirectionOutbound, StatusSent},
		{"from equals business number, formatted", "+55 11 98765-0000", testDisplay, `{"status":"sent"}`, DirectionOutbound, StatusSent},
		{"from_me true wins over from", testDisplay, mariana, `{"status":"PLAYED","from_me":true}`, DirectionOutbound, StatusPlayed},
		{"from_me as string", testDisplay, mariana, `{"status":"read","from_me":"true"}`, DirectionOutbound, StatusRead},
		{"from_me false, user sender", testDisplay, mariana, `{"status":"read","from_me":false}`, DirectionInbound, StatusRead},
		{"no context", testDisplay, mariana, `null`, DirectionInbound, ""},
		{"failed becomes error", testDisplay, testDisplay, `{"status":"FAILED"}`, DirectionOutbound, StatusError},
		{"unknown status kept lowercased", testDisplay, testDisplay, `{"status":"Deleted"}`, DirectionOutbound, "deleted"},
		{"empty display: from rule off", "", testDisplay, `{"status":"read"}`, DirectionInbound, StatusRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{` +
				`"metadata":{"display_phone_number":"` + tt.display + `","phone_number_id":"2"},"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":1},` +
				`"threads":[{"id":"+` + mariana + `","messages":[{"from":"` + tt.from + `","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"b"},"history_context":` +
				tt.context + `}]}]}]}}]}]}`)
			batch, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			m := onlyChange(t, batch).Chunks[0].Messages[0]
			if m.Direction != tt.wantDirection || m.Status != tt.wantStatus || m.ContactWAID != mariana {
				t.Fatalf("direction %q status %q contact %q, want %q %q %q", m.Direction, m.Status, m.ContactWAID, tt.wantDirection, tt.wantStatus, mariana)
			}
		})
	}
}

func TestParseUnknownMessageTypes(t *testing.T) {
	body := envelope(
		historyChange(chunkItem(`{"phase":0,"chunk_order":1,"progress":100}`,
			`{"from":"5511912345678","id":"wamid.H1","timestamp":"5","type":"call_log","call_log":{"duration":12,"nested":{"x":[1,2]}}}`,
			`{"from":"5511912345678","id":"wamid.H2","timestamp":"6","type":"contacts","contacts":[{"name":{"formatted_name":"Ana"}}]}`,
			`{"from":"5511912345678","id":"wamid.H3","timestamp":"7","type":"poll_vote"}`,
		)),
		`{"field":"smb_message_echoes","value":{"metadata":{"display_phone_number":"1","phone_number_id":"2"},"message_echoes":[`+
			`{"from":"1","to":"+1 650-555-1234","id":"wamid.E1","timestamp":"8","type":"sticker_pack","sticker_pack":"weird"}]}}`,
	)
	batch, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Changes) != 2 {
		t.Fatalf("got %d changes, want 2", len(batch.Changes))
	}
	msgs := batch.Changes[0].Chunks[0].Messages
	wantTypes := []string{"call_log", "contacts", "poll_vote"}
	wantTexts := []string{"", "Ana", ""}
	if len(msgs) != len(wantTypes) {
		t.Fatalf("got %d messages, want %d", len(msgs), len(wantTypes))
	}
	for i, m := range msgs {
		if m.Type != wantTypes[i] || m.Text != wantTexts[i] || m.Position != i {
			t.Errorf("message %d: type %q text %q position %d, want %q %q %d", i, m.Type, m.Text, m.Position, wantTypes[i], wantTexts[i], i)
		}
		checkRaw(t, body, m.Raw, wantTypes[i])
	}
	echo := batch.Changes[1].Messages
	if len(echo) != 1 || echo[0].Type != "sticker_pack" || echo[0].ContactWAID != "16505551234" || echo[0].Origin != OriginEcho {
		t.Fatalf("echo = %+v", echo)
	}
}

func TestParseUnknownFieldAndEmpty(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantCount int
		check     func(t *testing.T, b *Batch)
	}{
		{"empty entry array", `{"object":"whatsapp_business_account","entry":[]}`, 0, nil},
		{"entry without changes", `{"object":"whatsapp_business_account","entry":[{"id":"1"}]}`, 0, nil},
		{"unknown field keeps ids and raw", string(envelope(
			`{"field":"message_template_status_update","value":{"metadata":{"display_phone_number":"55","phone_number_id":"66"},"event":"APPROVED"}}`)), 1,
			func(t *testing.T, b *Batch) {
				c := b.Changes[0]
				if c.Field != "message_template_status_update" || c.WABAID != testWABA || c.PhoneNumberID != "66" ||
					c.DisplayPhoneNumber != "55" || !bytes.Contains(c.Raw, []byte(`"APPROVED"`)) {
					t.Fatalf("change = %+v", c)
				}
			}},
		{"unknown field with scalar value", string(envelope(`{"field":"future","value":"hello"}`)), 1,
			func(t *testing.T, b *Batch) {
				if string(b.Changes[0].Raw) != `"hello"` {
					t.Fatalf("raw = %q", b.Changes[0].Raw)
				}
			}},
		{"known field without value", string(envelope(`{"field":"history"}`)), 1,
			func(t *testing.T, b *Batch) {
				c := b.Changes[0]
				if c.Field != FieldHistory || c.Raw != nil || len(c.Chunks) != 0 {
					t.Fatalf("change = %+v", c)
				}
			}},
		{"unknown state_sync type skipped", string(envelope(
			`{"field":"smb_app_state_sync","value":{"state_sync":[{"type":"label","label":{"x":1}},{"type":"CONTACT","action":"REMOVE","contact":{"phone_number":"+1 (650) 555-0000"},"metadata":{"timestamp":17}}]}}`)), 1,
			func(t *testing.T, b *Batch) {
				want := []ContactChange{{WAID: "16505550000", Removed: true, Timestamp: 17}}
				if !reflect.DeepEqual(b.Changes[0].Contacts, want) {
					t.Fatalf("contacts = %+v, want %+v", b.Changes[0].Contacts, want)
				}
			}},
		{"several entries and changes in order", `{"object":"whatsapp_business_account","entry":[` +
			`{"id":"A","changes":[{"field":"f1","value":{}},{"field":"f2","value":{}}]},{"id":"B","changes":[{"field":"f3"}]}]}`, 3,
			func(t *testing.T, b *Batch) {
				got := []string{}
				for _, c := range b.Changes {
					got = append(got, c.WABAID+"/"+c.Field)
				}
				if strings.Join(got, ",") != "A/f1,A/f2,B/f3" {
					t.Fatalf("order = %v", got)
				}
			}},
		{"chunk with metadata only", string(envelope(historyChange(`{"metadata":{"phase":2,"chunk_order":9,"progress":100}}`))), 1,
			func(t *testing.T, b *Batch) {
				ch := b.Changes[0].Chunks
				if len(ch) != 1 || ch[0].Progress != 100 || ch[0].ThreadCount != 0 || len(ch[0].Messages) != 0 {
					t.Fatalf("chunks = %+v", ch)
				}
			}},
		{"live message without matching contact uses the only profile", string(envelope(
			`{"field":"messages","value":{"contacts":[{"wa_id":"999","profile":{"name":"Só"}}],"messages":[{"from":"+55 11 91234-5678","id":"wamid.L","timestamp":"3","type":"button","button":{"text":"Confirmar","payload":"ok"}}]}}`)), 1,
			func(t *testing.T, b *Batch) {
				m := b.Changes[0].Messages[0]
				if m.ContactName != "Só" || m.ContactWAID != mariana || m.Text != "Confirmar" || m.Direction != DirectionInbound {
					t.Fatalf("message = %+v", m)
				}
			}},
		{"interactive reply text", string(envelope(
			`{"field":"messages","value":{"messages":[{"from":"1","id":"wamid.I","timestamp":"3","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"x","title":"Bolo de cenoura"}}}]}}`)), 1,
			func(t *testing.T, b *Batch) {
				if m := b.Changes[0].Messages[0]; m.Text != "Bolo de cenoura" || m.ContactName != "" {
					t.Fatalf("message = %+v", m)
				}
			}},
		{"location with only a name and string coordinates", string(envelope(
			`{"field":"messages","value":{"messages":[{"from":"1","id":"wamid.G","timestamp":"3","type":"location","location":{"latitude":"-1.5","longitude":2,"name":"Loja"}}]}}`)), 1,
			func(t *testing.T, b *Batch) {
				m := b.Changes[0].Messages[0]
				if c := m.Content; m.Text != "Loja" || c == nil || c.Latitude == nil || *c.Latitude != -1.5 || c.Longitude == nil || *c.Longitude != 2 {
					t.Fatalf("message = %+v", m)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Changes) != tt.wantCount {
				t.Fatalf("got %d changes, want %d", len(b.Changes), tt.wantCount)
			}
			if tt.check != nil {
				tt.check(t, b)
			}
		})
	}
}

func TestParseNotEnvelope(t *testing.T) {
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	tests := []struct {
		name string
		body string
	}{
		{"empty body", ""},
		{"whitespace", "  \n"},
		{"not json", "hello"},
		{"array", "[]"},
		{"null", "null"},
		{"string", `"whatsapp_business_account"`},
		{"empty object", "{}"},
		{"wrong object", `{"object":"page","entry":[]}`},
		{"object wrong type", `{"object":1,"entry":[]}`},
		{"no entry", `{"object":"whatsapp_business_account"}`},
		{"null entry", `{"object":"whatsapp_business_account","entry":null}`},
		{"entry is an object", `{"object":"whatsapp_business_account","entry":{"id":"1"}}`},
		{"truncated", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[`},
		{"huge nesting", deep},
		{"huge nesting inside a value", string(envelope(`{"field":"x","value":` + deep + `}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse([]byte(tt.body))
			if !errors.Is(err, ErrNotEnvelope) || b != nil {
				t.Fatalf("Parse = %v, %v; want nil, ErrNotEnvelope", b, err)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"entry not an object", []byte(`{"object":"whatsapp_business_account","entry":[1]}`), "entry 0: not an object"},
		{"change not an object", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":["x"]}]}`), "entry 0 change 0: not an object"},
		{"entry id of wrong type", []byte(`{"object":"whatsapp_business_account","entry":[{"id":1}]}`), "entry 0: id is not a string: 1"},
		{"changes not an array", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":{}}]}`), "entry 0: changes is not an array"},
		{"field of wrong type", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":7,"value":{}}]}]}`), "entry 0 change 0: field is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.body)
			if err == nil {
				t.Fatalf("Parse succeeded with %d changes, want error containing %q", len(b.Changes), tt.want)
			}
			if b != nil {
				t.Fatal("Parse returned a batch together with an error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %q does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestFlexInt(t *testing.T) {
	tests := []struct {
		in      string
		want    FlexInt
		wantErr bool
	}{
		{`42`, 42, false},
		{`"42"`, 42, false},
		{`" 7 "`, 7, false},
		{`-5`, -5, false},
		{`1760954100`, 1760954100, false},
		{`"9223372036854775807"`, 9223372036854775807, false},
		{`2.0`, 2, false},
		{`1e3`, 1000, false},
		{`null`, 99, false}, // unchanged
		{`""`, 0, true},
		{`"abc"`, 0, true},
		{`1.5`, 0, true},
		{`"9223372036854775808"`, 0, true},
		{`1e300`, 0, true},
		{`"NaN"`, 0, true},
		{`"Inf"`, 0, true},
		{`true`, 0, true},
		{`{}`, 0, true},
		{`[1]`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v := FlexInt(99)
			err := json.Unmarshal([]byte(tt.in), &v)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %d, want error", v)
				}
				return
			}
			if err != nil || v != tt.want {
				t.Fatalf("got %d, %v; want %d", v, err, tt.want)
			}
		})
	}
}
