package ingest_test

import (
	"context"
	"testing"

	"coexhistory/internal/ingest"
)

// A status of a message the archive never saw (sent through the API by another system)
// makes an outbound message of origin api in the recipient's thread, with its delivery
// timeline; when the message's echo arrives later it merges into the same message.
func TestStatusOfAnUnknownMessageThenItsEcho(t *testing.T) {
	const customer = "5511912345671"
	statuses := valueBody("messages", `"statuses":[`+
		`{"id":"wamid.api1","status":"sent","timestamp":"1761000010","recipient_id":"`+customer+`","conversation":{"id":"c1","origin":{"type":"utility"}},"pricing":{"billable":true,"pricing_model":"PMP","category":"utility"}},`+
		`{"id":"wamid.api1","status":"failed","timestamp":"1761000020","recipient_id":"`+customer+`","errors":[{"code":131026,"title":"Message undeliverable"}]}]`)
	echo := valueBody("smb_message_echoes", `"message_echoes":[{"from":"`+exampleBusiness+`","to":"`+customer+`","id":"wamid.api1","timestamp":"1761000005","type":"text","text":{"body":"Seu pedido saiu para entrega"}}]`)
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.insert(t, statuses)
		e.drain(t, e.worker(t, nil, ingest.Options{}))
		s := dump(t, e.db, examplePNID)
		if len(s.Threads) != 1 || s.Threads[0].Contact != customer || s.Threads[0].Count != 1 || len(s.Messages) != 1 {
			t.Fatalf("after the statuses: %+v", s)
		}
		if m := s.Messages[0]; m.WAMID != "wamid.api1" || m.Direction != "outbound" || m.Origin != "api" || m.Type != "unknown" || m.Status != "error" || m.TS != 1761000010 {
			t.Fatalf("api message = %+v", m)
		}
		evs, err := e.db.MessageEvents(ctx, examplePNID, "wamid.api1")
		if err != nil || len(evs) != 2 || evs[1].ErrorDescription != "131026 Message undeliverable" {
			t.Fatalf("events = %+v %v", evs, err)
		}

		e.insert(t, echo)
		e.drain(t, e.worker(t, nil, ingest.Options{}))
		s = dump(t, e.db, examplePNID)
		if len(s.Threads) != 1 || s.Threads[0].Count != 1 || len(s.Messages) != 1 {
			t.Fatalf("after the echo: %+v", s)
		}
		if m := s.Messages[0]; m.Origin != "echo" || m.Type != "text" || m.Text != "Seu pedido saiu para entrega" || m.Status != "error" || m.TS != 1761000005 {
			t.Fatalf("merged message = %+v", m)
		}
	})
}
