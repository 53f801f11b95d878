package handlers_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Through the receiver: a message the customer edits twice keeps every version. The API
// lists the text as first received and each edit with the text it set, oldest first, and
// text is the latest; in whichever order the message and its edits arrive.
func TestEditHistoryThroughTheReceiver(t *testing.T) {
	const phone = "5511944443333"
	live := func(message string) []byte {
		return messagesWebhook(`"contacts":[{"wa_id":"` + phone + `","profile":{"name":"Lu"}}],"messages":[` + message + `]`)
	}
	original := live(`{"from":"` + phone + `","id":"wamid.o","timestamp":"1761000000","type":"text","text":{"body":"Chego às 13h"}}`)
	edit := func(id, ts, body string) []byte {
		return live(`{"from":"` + phone + `","id":"` + id + `","timestamp":"` + ts + `","type":"edit",` +
			`"edit":{"original_message_id":"wamid.o","message":{"type":"text","text":{"body":"` + body + `"}}}}`)
	}
	first, second := edit("wamid.e1", "1761000060", "Chego às 14h"), edit("wamid.e2", "1761000120", "Chego às 14h30 <b>sem falta</b>")
	type editJSON struct {
		WAMID     string `json:"wamid"`
		Text      string `json:"text"`
		Timestamp int64  `json:"timestamp"`
	}
	wantEdits := []editJSON{{"wamid.e1", "Chego às 14h", 1761000060}, {"wamid.e2", "Chego às 14h30 <b>sem falta</b>", 1761000120}}
	for _, order := range []struct {
		name   string
		bodies [][]byte
	}{
		{"message first", [][]byte{original, first, second}},
		{"edits first, the later one before", [][]byte{second, first, original}},
		{"replayed", [][]byte{original, first, second, first, original, second}},
	} {
		for _, dialect := range storetest.Dialects {
			t.Run(order.name+"/"+dialect, func(t *testing.T) {
				app := receiverApp(t, dialect)
				deliver(t, app, order.bodies...)
				token := app.Token(models.RoleAgent)
				var threads struct {
					Data []struct {
						ID uint64 `json:"id"`
					} `json:"data"`
				}
				res, body := app.API(http.MethodGet, "/api/v1/threads?phone_number_id="+recvPNID, token, nil)
				if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &threads) != nil || len(threads.Data) != 1 {
					t.Fatalf("threads API = %d %s", res.StatusCode, body)
				}
				var msgs struct {
					Data []struct {
						WAMID        string     `json:"wamid"`
						Text         string     `json:"text"`
						Edited       bool       `json:"edited"`
						OriginalText string     `json:"original_text"`
						Edits        []editJSON `json:"edits"`
					} `json:"data"`
				}
				res, body = app.API(http.MethodGet, "/api/v1/threads/"+itoa(threads.Data[0].ID)+"/messages", token, nil)
				if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &msgs) != nil || len(msgs.Data) != 1 {
					t.Fatalf("messages API = %d %s", res.StatusCode, body)
				}
				m := msgs.Data[0]
				if m.WAMID != "wamid.o" || !m.Edited || m.Text != "Chego às 14h30 <b>sem falta</b>" || m.OriginalText != "Chego às 13h" || !reflect.DeepEqual(m.Edits, wantEdits) {
					t.Fatalf("message = %+v", m)
				}
				// The thread shows every version under the bubble, escaped, the latest marked.
				_, page := app.Login(apptest.AgentEmail).Get("/threads/"+itoa(threads.Data[0].ID), nil)
				d := convDoc(t, page)
				versions := d.Find(`[data-wamid="wamid.o"] [data-testid="edit-history"] [data-testid="edit-version"]`)
				if versions.Length() != 3 || strings.TrimSpace(versions.Eq(0).Find(`[data-testid="edit-text"]`).Text()) != "Chego às 13h" ||
					strings.TrimSpace(versions.Eq(2).Find(`[data-testid="edit-text"]`).Text()) != "Chego às 14h30 <b>sem falta</b>" ||
					!strings.Contains(versions.Eq(0).Text(), "Original") || !strings.Contains(versions.Eq(2).Text(), "now shown") ||
					strings.Contains(page, "<b>sem falta</b>") {
					t.Fatalf("edit history on the page (%d versions):\n%.3000s", versions.Length(), page)
				}
				// The JSON export has the same versions.
				_, exported := app.Login(apptest.AdminEmail).Get("/threads/"+itoa(threads.Data[0].ID)+"/export.json", nil)
				var doc struct {
					Messages []struct {
						OriginalText string     `json:"original_text"`
						Edits        []editJSON `json:"edits"`
					} `json:"messages"`
				}
				if err := json.Unmarshal([]byte(exported), &doc); err != nil || len(doc.Messages) != 1 ||
					doc.Messages[0].OriginalText != "Chego às 13h" || !reflect.DeepEqual(doc.Messages[0].Edits, wantEdits) {
					t.Fatalf("export = %v %.500s", err, exported)
				}
			})
		}
	}
}

// An edit stored before edits kept their text (migration 00011 leaves it empty) is an
// unknown version: the API and the thread show no history for it, only that it was edited.
func TestEditWithoutItsTextShowsNoHistory(t *testing.T) {
	app := receiverApp(t, "sqlite")
	live := func(message string) []byte {
		return messagesWebhook(`"contacts":[{"wa_id":"5511944443333","profile":{"name":"Lu"}}],"messages":[` + message + `]`)
	}
	deliver(t, app,
		live(`{"from":"5511944443333","id":"wamid.o","timestamp":"1761000000","type":"text","text":{"body":"Chego às 13h"}}`),
		live(`{"from":"5511944443333","id":"wamid.e1","timestamp":"1761000060","type":"edit","edit":{"original_message_id":"wamid.o","message":{"type":"text","text":{"body":"Chego às 14h"}}}}`))
	if _, err := app.DB.SQL().Exec("UPDATE message_events SET text = '' WHERE delivery_status = 'edited'"); err != nil {
		t.Fatal(err)
	}
	token := app.Token(models.RoleAgent)
	var threads struct {
		Data []struct {
			ID uint64 `json:"id"`
		} `json:"data"`
	}
	_, body := app.API(http.MethodGet, "/api/v1/threads?phone_number_id="+recvPNID, token, nil)
	if err := json.Unmarshal([]byte(body), &threads); err != nil || len(threads.Data) != 1 {
		t.Fatalf("threads %s", body)
	}
	_, body = app.API(http.MethodGet, "/api/v1/threads/"+itoa(threads.Data[0].ID)+"/messages", token, nil)
	if !strings.Contains(body, `"edited":true`) || strings.Contains(body, `"edits"`) {
		t.Fatalf("messages API: %s", body)
	}
	_, page := app.Login(apptest.AgentEmail).Get("/threads/"+itoa(threads.Data[0].ID), nil)
	if !strings.Contains(page, `data-testid="bubble-edited"`) || strings.Contains(page, `data-testid="edit-history"`) {
		t.Fatalf("thread page:\n%.2000s", page)
	}
}
