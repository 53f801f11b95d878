package coex_test

import (
	"testing"

	"coexhistory/internal/coex"
)

// A stored message's raw JSON reads back into the parser's structured content.
func TestDecodeMessage(t *testing.T) {
	m, err := coex.DecodeMessage([]byte(`{"from":"5511955554444","id":"wamid.x","timestamp":"1700000000","type":"order","context":{"id":"wamid.q","forwarded":true},
		"order":{"text":"Para sábado","product_items":[{"product_retailer_id":"bolo","quantity":"2","item_price":45.9,"currency":"BRL"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Content
	if c == nil || c.Context == nil || c.Context.QuotedWAMID != "wamid.q" || !c.Context.Forwarded {
		t.Fatalf("context %+v", c)
	}
	if c.Order == nil || len(c.Order.Items) != 1 || c.Order.Items[0].Quantity != 2 || *c.Order.Items[0].ItemPrice != 45.9 {
		t.Fatalf("order %+v", c.Order)
	}
	if m.Text != coex.RenderText(&m) || m.Text == "" {
		t.Fatalf("text %q", m.Text)
	}
	if _, err := coex.DecodeMessage([]byte(`[1]`)); err == nil {
		t.Fatal("an array decoded as a message")
	}
}
