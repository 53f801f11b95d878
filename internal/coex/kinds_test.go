package coex

import (
	"reflect"
	"testing"
)

// TestParseKinds: every message type's readable text and structured parts,
// with payloads shaped like Meta's messages reference (§12).
func TestParseKinds(t *testing.T) {
	tests := []struct {
		name     string
		msg      string // the message object without from/id/timestamp
		wantText string
		want     *Content
	}{
		{"text", `"type":"text","text":{"body":"Oi, tudo bem?"}`, "Oi, tudo bem?", nil},
		{"text reply to a message", `"type":"text","text":{"body":"Sim, esse"},"context":{"from":"+55 11 98765-0000","id":"wamid.QUOTED"}`,
			"Sim, esse", &Content{Context: &MessageContext{QuotedWAMID: "wamid.QUOTED", QuotedFrom: testDisplay}}},
		{"forwarded text", `"type":"text","text":{"body":"olha isso"},"context":{"forwarded":true}`,
			"olha isso", &Content{Context: &MessageContext{Forwarded: true}}},
		{"frequently forwarded", `"type":"text","text":{"body":"corrente"},"context":{"frequently_forwarded":true}`,
			"corrente", &Content{Context: &MessageContext{Forwarded: true, FrequentlyForwarded: true}}},
		{"question about a product", `"type":"text","text":{"body":"Tem em azul?"},"context":{"from":"5511987650000","id":"wamid.P","referred_product":{"catalog_id":"cat1","product_retailer_id":"sku-9"}}`,
			"Tem em azul?", &Content{Context: &MessageContext{QuotedWAMID: "wamid.P", QuotedFrom: testDisplay,
				ReferredProduct: &ReferredProduct{CatalogID: "cat1", ProductRetailerID: "sku-9"}}}},
		{"first message from an ad", `"type":"text","text":{"body":"Quero saber mais"},"referral":{"source_url":"https://fb.me/abc","source_type":"ad","source_id":"120","headline":"Bolo de cenoura","body":"Peça já","media_type":"image","image_url":"https://x/i.jpg","thumbnail_url":"https://x/t.jpg","ctwa_clid":"clid-1"}`,
			"Quero saber mais", &Content{Referral: &Referral{SourceURL: "https://fb.me/abc", SourceType: "ad", SourceID: "120", Headline: "Bolo de cenoura",
				Body: "Peça já", MediaType: "image", ImageURL: "https://x/i.jpg", ThumbnailURL: "https://x/t.jpg", CTWAClid: "clid-1"}}},
		{"image with caption", `"type":"image","image":{"id":"1","mime_type":"image/jpeg","sha256":"abc","caption":"foto"}`,
			"foto", &Content{Caption: "foto", MediaSHA256: "abc"}},
		{"document", `"type":"document","document":{"id":"2","mime_type":"application/pdf","filename":"cardapio.pdf","caption":"nosso cardápio"}`,
			"cardapio.pdf — nosso cardápio", &Content{Filename: "cardapio.pdf", Caption: "nosso cardápio"}},
		{"voice note", `"type":"audio","audio":{"id":"3","mime_type":"audio/ogg; codecs=opus","voice":true}`, "", &Content{Voice: true}},
		{"animated sticker", `"type":"sticker","sticker":{"id":"4","mime_type":"image/webp","animated":true}`, "Animated sticker", &Content{Animated: true}},
		{"sticker", `"type":"sticker","sticker":{"id":"5","mime_type":"image/webp","animated":false}`, "Sticker", nil},
		{"location", `"type":"location","location":{"latitude":-23.5,"longitude":-46.6,"name":"Doces da Vila","address":"Av. Paulista, 1000","url":"https://docesdavila.example"}`,
			"Doces da Vila — Av. Paulista, 1000", &Content{Latitude: f64(-23.5), Longitude: f64(-46.6), LocationName: "Doces da Vila",
				LocationAddress: "Av. Paulista, 1000", LocationURL: "https://docesdavila.example"}},
		{"shared contacts", `"type":"contacts","contacts":[{"name":{"formatted_name":"Ana Souza","first_name":"Ana","last_name":"Souza"},` +
			`"org":{"company":"Padaria Lu","title":"Gerente"},"phones":[{"phone":"+55 11 91234-5678","wa_id":"5511912345678","type":"CELL"}],` +
			`"emails":[{"email":"ana@padarialu.example","type":"WORK"}],"urls":[{"url":"https://padarialu.example","type":"WORK"}],` +
			`"addresses":[{"street":"Rua A, 1","city":"São Paulo","country_code":"BR","type":"WORK"}],"birthday":"1990-05-01"},` +
			`{"name":{"first_name":"Beto"},"phones":[{"wa_id":"5521999990000"}]}]`,
			"Ana Souza · Padaria Lu, Gerente · +55 11 91234-5678 · ana@padarialu.example\nBeto · +5521999990000",
			&Content{Contacts: []SharedContact{
				{FormattedName: "Ana Souza", FirstName: "Ana", LastName: "Souza", Company: "Padaria Lu", Title: "Gerente", Birthday: "1990-05-01",
					Phones:    []ContactPhone{{Phone: "+55 11 91234-5678", WAID: "5511912345678", Type: "CELL"}},
					Emails:    []ContactValue{{Value: "ana@padarialu.example", Type: "WORK"}},
					URLs:      []ContactValue{{Value: "https://padarialu.example", Type: "WORK"}},
					Addresses: []ContactAddress{{Street: "Rua A, 1", City: "São Paulo", CountryCode: "BR", Type: "WORK"}}},
				{FirstName: "Beto", Phones: []ContactPhone{{WAID: "5521999990000"}}},
			}}},
		{"order", `"type":"order","order":{"catalog_id":"cat1","text":"Para sábado","product_items":[` +
			`{"product_retailer_id":"bolo-cenoura","quantity":2,"item_price":45.9,"currency":"BRL"},{"product_retailer_id":"brigadeiro","quantity":"12","item_price":"2.5","currency":"BRL"}]}`,
			"Para sábado\n2 × bolo-cenoura — 45.9 BRL\n12 × brigadeiro — 2.5 BRL",
			&Content{Order: &Order{CatalogID: "cat1", Text: "Para sábado", Items: []OrderItem{
				{ProductRetailerID: "bolo-cenoura", Quantity: 2, ItemPrice: f64(45.9), Currency: "BRL"},
				{ProductRetailerID: "brigadeiro", Quantity: 12, ItemPrice: f64(2.5), Currency: "BRL"}}}}},
		{"system: changed number", `"type":"system","system":{"body":"Mariana changed their phone number","type":"user_changed_number","new_wa_id":"+55 11 90000-1111"}`,
			"Mariana changed their phone number New number: +5511900001111",
			&Content{System: &SystemChange{Type: SystemUserChangedNumber, Body: "Mariana changed their phone number", NewWAID: "5511900001111"}}},
		{"system body naming the number", `"type":"system","system":{"body":"User A changed from 5511912345678 to 5511900001111","type":"customer_changed_number","wa_id":"5511900001111"}`,
			"User A changed from 5511912345678 to 5511900001111",
			&Content{System: &SystemChange{Type: SystemCustomerChangedNumber, Body: "User A changed from 5511912345678 to 5511900001111", NewWAID: "5511900001111"}}},
		{"button reply", `"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Confirmar pedido"}}`,
			"Confirmar pedido", &Content{Reply: &Reply{Type: "button_reply", ID: "yes", Title: "Confirmar pedido"}}},
		{"list reply", `"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"b1","title":"Bolo de cenoura","description":"com cobertura"}}`,
			"Bolo de cenoura — com cobertura", &Content{Reply: &Reply{Type: "list_reply", ID: "b1", Title: "Bolo de cenoura", Description: "com cobertura"}}},
		{"flow reply", `"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"a\":1}"}}`,
			"Sent", &Content{Reply: &Reply{Type: "nfm_reply", ID: "flow", Title: "Sent", ResponseJSON: `{"a":1}`}}},
		{"template quick reply", `"type":"button","button":{"payload":"STOP","text":"Parar promoções"}`,
			"Parar promoções", &Content{Reply: &Reply{Type: "button", ID: "STOP", Title: "Parar promoções"}}},
		{"unsupported 131051", `"type":"unsupported","unsupported":{"type":"video_note"},"errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is not currently supported"}}]`,
			"Message type unknown — Message type is not currently supported",
			&Content{Unsupported: "video_note", Errors: []MessageError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", Details: "Message type is not currently supported"}}}},
		{"reaction", `"type":"reaction","reaction":{"message_id":"wamid.R","emoji":"👍"}`, "👍", nil},
		{"reaction removed", `"type":"reaction","reaction":{"message_id":"wamid.R"}`, "", nil},
		{"unknown type kept", `"type":"poll_creation","poll_creation":{"name":"x"}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := envelope(change("messages", `"messages":[{"from":"`+mariana+`","id":"wamid.K","timestamp":"1760000000",`+tt.msg+`}]`))
			c := mustOne(t, body)
			if len(c.Messages) != 1 {
				t.Fatalf("got %d messages", len(c.Messages))
			}
			m := c.Messages[0]
			if m.Text != tt.wantText {
				t.Errorf("text = %q, want %q", m.Text, tt.wantText)
			}
			if !reflect.DeepEqual(m.Content, tt.want) {
				t.Errorf("content = %+v\nwant      %+v", m.Content, tt.want)
				if m.Content != nil && tt.want != nil {
					t.Logf("context %+v / %+v; reply %+v / %+v", m.Content.Context, tt.want.Context, m.Content.Reply, tt.want.Reply)
				}
			}
			if RenderText(&m) != m.Text {
				t.Errorf("RenderText = %q, text %q", RenderText(&m), m.Text)
			}
		})
	}
	// The edited message of an edit is rendered the same way.
	body := envelope(change("smb_message_echoes", `"message_echoes":[{"from":"`+testDisplay+`","to":"`+mariana+`","id":"wamid.ED","timestamp":"2","type":"edit",`+
		`"edit":{"original_message_id":"wamid.D","message":{"type":"document","document":{"filename":"nf.pdf","caption":"corrigida"}}}}]`))
	if e := mustOne(t, body).Edits[0]; e.NewText != "nf.pdf — corrigida" || e.NewType != "document" {
		t.Fatalf("edit = %+v", e)
	}
}
