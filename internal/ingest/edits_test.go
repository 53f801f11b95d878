package ingest_test

import (
	"context"
	"strings"
	"testing"

	"coexhistory/internal/ingest"
)

// The customer's own edit and delete (messages webhook) change the customer's inbound
// message, before or after it arrives; they are never the business's.
func TestCustomerEditAndRevokeInEitherOrder(t *testing.T) {
	const customer = "5511912345670"
	message := func(id, body string) []byte {
		return valueBody("messages", `"messages":[{"from":"`+customer+`","id":"`+id+`","timestamp":"1761000000","type":"text","text":{"body":"`+body+`"}}]`)
	}
	edit := valueBody("messages", `"messages":[{"from":"`+customer+`","id":"wamid.edit","timestamp":"1761000060","type":"edit",`+
		`"edit":{"original_message_id":"wamid.orig","message":{"type":"text","text":{"body":"Chego às 14h"}}}}]`)
	revoke := valueBody("messages", `"messages":[{"from":"`+customer+`","id":"wamid.rev","timestamp":"1761000090","type":"revoke","revoke":{"original_message_id":"wamid.gone"}}]`)
	for _, order := range []string{"message first", "edit first"} {
		t.Run(order, func(t *testing.T) {
			each(t, func(t *testing.T, e *env) {
				ctx := context.Background()
				bodies := [][]byte{message("wamid.orig", "Chego às 13h"), edit, message("wamid.gone", "apaga isso"), revoke}
				if order == "edit first" {
					bodies = [][]byte{edit, revoke, message("wamid.orig", "Chego às 13h"), message("wamid.gone", "apaga isso")}
				}
				for _, b := range bodies {
					e.insert(t, b)
					e.drain(t, e.worker(t, nil, ingest.Options{}))
				}
				s := dump(t, e.db, examplePNID)
				if len(s.Threads) != 1 || s.Threads[0].Count != 2 || len(s.Messages) != 2 {
					t.Fatalf("threads %+v messages %+v", s.Threads, s.Messages)
				}
				for _, m := range s.Messages {
					if m.Direction != "inbound" || m.Origin != "live" || m.Type != "text" || m.Contact != customer || m.TS != 1761000000 {
						t.Fatalf("message = %+v", m)
					}
					switch m.WAMID {
					case "wamid.orig":
						if m.Text != "Chego às 14h" || !m.Edited || m.Deleted {
							t.Fatalf("edited message = %+v", m)
						}
					case "wamid.gone":
						if !m.Deleted || m.Edited {
							t.Fatalf("revoked message = %+v", m)
						}
					}
				}
				var raw string
				if err := e.db.SQL().QueryRowContext(ctx, "SELECT raw FROM messages WHERE wamid = ?", "wamid.orig").Scan(&raw); err != nil || !strings.Contains(raw, "Chego às 13h") {
					t.Fatalf("the earlier text is not kept: %q (%v)", raw, err)
				}
			})
		})
	}
}
