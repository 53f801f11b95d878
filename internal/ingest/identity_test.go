package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"coexhistory/internal/ingest"
)

const (
	luPhone = "5511955554444"
	luBSUID = "user.4f1c2a9d8e7b6c5a4f3e2d1c0b9a8f7e"
)

func valueBody(field, value string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + exampleWABA + `","changes":[{"field":"` + field + `","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"` + exampleBusiness + `","phone_number_id":"` + examplePNID + `"},` + value + `}}]}]}`)
}

// The same person as BSUID only (a history thread with an empty id, a live message), as
// phone only, and with both (a live message whose contacts give both, the contacts sync):
// in every order one thread with every message, counted once, keyed by the phone number,
// with the BSUID and username kept.
func TestOneThreadPerPersonWhateverIdentifiersArrive(t *testing.T) {
	payloads := map[string][]byte{
		"history BSUID only": valueBody("history", `"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[`+
			`{"id":"","context":{"wa_id":"","user_id":"`+luBSUID+`","username":"padaria.lu","country_code":"BR"},"messages":[`+
			`{"from":"","from_user_id":"`+luBSUID+`","id":"wamid.h1","timestamp":"1760950000","type":"text","text":{"body":"Vocês entregam hoje?"},"history_context":{"status":"read"}},`+
			`{"from":"`+exampleBusiness+`","id":"wamid.h2","timestamp":"1760950100","type":"text","text":{"body":"Entregamos!"},"history_context":{"status":"read","from_me":true}}]}]}]`),
		"live phone only": valueBody("messages", `"contacts":[{"wa_id":"`+luPhone+`","profile":{"name":"Lu"}}],"messages":[`+
			`{"from":"`+luPhone+`","id":"wamid.l1","timestamp":"1761000000","type":"text","text":{"body":"Oi de novo"}}]`),
		"live both": valueBody("messages", `"contacts":[{"wa_id":"`+luPhone+`","user_id":"`+luBSUID+`","profile":{"name":"Lu","username":"padaria.lu"}}],"messages":[`+
			`{"from":"`+luPhone+`","from_user_id":"`+luBSUID+`","id":"wamid.l2","timestamp":"1761000100","type":"text","text":{"body":"Sou eu"}}]`),
		"live BSUID only": valueBody("messages", `"contacts":[{"wa_id":"","user_id":"`+luBSUID+`","profile":{"name":"Lu","username":"padaria.lu"}}],"messages":[`+
			`{"from":"","from_user_id":"`+luBSUID+`","id":"wamid.l3","timestamp":"1761000200","type":"text","text":{"body":"Ainda eu"}}]`),
		"contacts sync both": valueBody("smb_app_state_sync", `"state_sync":[{"type":"contact","action":"add","contact":{"full_name":"Lu Padaria","first_name":"Lu",`+
			`"phone_number":"`+luPhone+`","user_id":"`+luBSUID+`","username":"padaria.lu"},"metadata":{"timestamp":"1761000300"}}]`),
	}
	orders := [][]string{
		{"history BSUID only", "live phone only", "live both", "live BSUID only", "contacts sync both"},
		{"live both", "history BSUID only", "live BSUID only", "live phone only", "contacts sync both"},
		{"contacts sync both", "live BSUID only", "history BSUID only", "live phone only", "live both"},
		{"live BSUID only", "live phone only", "history BSUID only", "contacts sync both", "live both"},
		{"live phone only", "live BSUID only", "history BSUID only", "live both", "contacts sync both"},
		{"history BSUID only", "live BSUID only", "contacts sync both", "live both", "live phone only"},
	}
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, order := range orders {
			e.reset(t)
			for _, name := range order {
				e.insert(t, payloads[name])
				e.drain(t, e.worker(t, nil, ingest.Options{}))
			}
			label := strings.Join(order, " → ")
			s := dump(t, e.db, examplePNID)
			if len(s.Threads) != 1 || s.Threads[0].Contact != luPhone || s.Threads[0].Count != 5 || len(s.Messages) != 5 {
				t.Fatalf("%s: threads %+v, %d messages", label, s.Threads, len(s.Messages))
			}
			if s.Threads[0].Name != "Lu Padaria" {
				t.Fatalf("%s: name %q", label, s.Threads[0].Name)
			}
			var uid, username string
			if err := e.db.SQL().QueryRowContext(ctx, "SELECT contact_user_id, contact_username FROM threads WHERE phone_number_id = ?", examplePNID).Scan(&uid, &username); err != nil ||
				uid != luBSUID || username != "padaria.lu" {
				t.Fatalf("%s: thread identity %q %q (%v)", label, uid, username, err)
			}
			for _, m := range s.Messages {
				if m.Contact != luPhone {
					t.Fatalf("%s: message %+v", label, m)
				}
			}
			if c := e.counts(t); c["failed"] != 0 {
				t.Fatalf("%s: inbox %v", label, c)
			}
		}
	})
}

// A contact known only by its BSUID has a thread of its own (no phone number); a system
// message of a changed number links the new number to the same conversation.
func TestBSUIDOnlyThreadAndChangedNumber(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.insert(t, valueBody("messages", `"contacts":[{"wa_id":"","user_id":"user.only","profile":{"name":"","username":"so.bsuid"}}],"messages":[`+
			`{"from":"","from_user_id":"user.only","id":"wamid.b1","timestamp":"1761000000","type":"text","text":{"body":"Oi"}}]`))
		e.insert(t, valueBody("messages", `"messages":[{"from":"`+luPhone+`","id":"wamid.c1","timestamp":"1761000000","type":"text","text":{"body":"antes"}}]`))
		e.insert(t, valueBody("messages", `"messages":[{"from":"`+luPhone+`","id":"wamid.c2","timestamp":"1761000100","type":"system",`+
			`"system":{"body":"Lu changed their phone number to a new number","type":"user_changed_number","wa_id":"5511900001111"}}]`))
		e.insert(t, valueBody("messages", `"messages":[{"from":"5511900001111","id":"wamid.c3","timestamp":"1761000200","type":"text","text":{"body":"número novo"}}]`))
		// Two at a time: the new number's first message may be applied in the same instant as
		// the system message that links it (TestChangedNumberAndNewNumbersMessageAtOnce in the
		// store covers that race).
		e.drain(t, e.worker(t, nil, ingest.Options{Concurrency: 2}))
		s := dump(t, e.db, examplePNID)
		if len(s.Threads) != 2 {
			t.Fatalf("threads = %+v", s.Threads)
		}
		var bsuidThread, phoneThread = s.Threads[1], s.Threads[0]
		if !strings.HasPrefix(bsuidThread.Contact, "u:") || bsuidThread.Count != 1 || phoneThread.Contact != luPhone || phoneThread.Count != 3 {
			t.Fatalf("threads = %+v", s.Threads)
		}
		var uid, username string
		if err := e.db.SQL().QueryRowContext(ctx, "SELECT contact_user_id, contact_username FROM threads WHERE contact_wa_id = ?", bsuidThread.Contact).Scan(&uid, &username); err != nil ||
			uid != "user.only" || username != "so.bsuid" {
			t.Fatalf("BSUID thread identity %q %q (%v)", uid, username, err)
		}
		got := fmt.Sprint(s.Messages)
		if !strings.Contains(got, "New number: +5511900001111") || !strings.Contains(got, "número novo") {
			t.Fatalf("messages = %s", got)
		}
	})
}
