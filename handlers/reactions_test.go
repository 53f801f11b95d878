package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// Through the receiver: a reaction to a message the archive does not hold is listed in its
// thread as an item of its own (type reaction, the wamid it reacts to), on the page and in
// the API; a later reaction of the same side replaces it, an empty emoji removes it, and
// when the message itself arrives the reaction moves onto it. message_count is the number
// of items listed at every step.
func TestReactionsThroughTheReceiver(t *testing.T) {
	const (
		phone = "5511944443333"
		gone  = "wamid.HBgNNTUxMTk0NDQ0MzMzMxUCABIYFjNFQjBPUkZBTkFNRVNTQUdFAA=="
	)
	live := func(messages string) []byte {
		return messagesWebhook(`"contacts":[{"wa_id":"` + phone + `","profile":{"name":"Lu <b>Padaria</b>"}}],"messages":[` + messages + `]`)
	}
	reaction := func(id, target, emoji, ts string) string {
		return `{"from":"` + phone + `","id":"` + id + `","timestamp":"` + ts + `","type":"reaction","reaction":{"message_id":"` + target + `","emoji":"` + emoji + `"}}`
	}
	text := func(id, body, ts string) string {
		return `{"from":"` + phone + `","id":"` + id + `","timestamp":"` + ts + `","type":"text","text":{"body":"` + body + `"}}`
	}
	type item struct {
		WAMID      string `json:"wamid"`
		Type       string `json:"type"`
		Text       string `json:"text"`
		ReactionTo string `json:"reaction_to"`
		Reactions  []struct {
			Emoji string `json:"emoji"`
		} `json:"reactions"`
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := receiverApp(t, dialect)
			token := app.Token(models.RoleAgent)
			post := func(b []byte) { t.Helper(); deliver(t, app, b) }
			// state returns the thread's id, its count and its items as the API lists them.
			state := func() (uint64, int, []item) {
				t.Helper()
				var threads struct {
					Data []struct {
						ID           uint64 `json:"id"`
						MessageCount int    `json:"message_count"`
					} `json:"data"`
				}
				res, body := app.API(http.MethodGet, "/api/v1/threads?phone_number_id="+recvPNID, token, nil)
				if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &threads) != nil || len(threads.Data) != 1 {
					t.Fatalf("threads API = %d %s", res.StatusCode, body)
				}
				var msgs struct {
					Data []item `json:"data"`
				}
				res, body = app.API(http.MethodGet, "/api/v1/threads/"+itoa(threads.Data[0].ID)+"/messages?limit=100", token, nil)
				if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &msgs) != nil {
					t.Fatalf("messages API = %d %s", res.StatusCode, body)
				}
				if threads.Data[0].MessageCount != len(msgs.Data) {
					t.Errorf("message_count %d, but %d items listed: %+v", threads.Data[0].MessageCount, len(msgs.Data), msgs.Data)
				}
				return threads.Data[0].ID, threads.Data[0].MessageCount, msgs.Data
			}

			post(live(text("wamid.t1", "Bom dia", "1761000000") + "," + reaction("wamid.r1", gone, "😂", "1761000100")))
			id, n, items := state()
			if n != 2 || items[1].WAMID != "wamid.r1" || items[1].Type != "reaction" || items[1].ReactionTo != gone || items[1].Text != "😂" {
				t.Fatalf("after an orphan reaction: %d items %+v", n, items)
			}
			agent := app.Login(apptest.AgentEmail)
			_, page := agent.Get("/threads/"+itoa(id), nil)
			if !strings.Contains(page, `data-testid="orphan-reaction"`) || !strings.Contains(page, "The contact reacted") ||
				!strings.Contains(page, `title="`+gone+`"`) || strings.Contains(page, "<b>Padaria") {
				t.Fatalf("thread page does not list the reaction:\n%.3000s", page)
			}
			// Opened from a search hit, the reaction itself is shown (its message is not there).
			res, page := agent.Get("/threads/"+itoa(id)+"?at="+url.QueryEscape("wamid.r1"), nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="orphan-reaction"`) || strings.Contains(page, "not in this conversation") {
				t.Fatalf("opening the reaction = %d:\n%.3000s", res.StatusCode, page)
			}

			post(live(reaction("wamid.r2", gone, "🙏", "1761000200")))
			if _, n, items = state(); n != 2 || items[1].WAMID != "wamid.r2" {
				t.Fatalf("after a replacing reaction: %d items %+v", n, items)
			}
			post(live(reaction("wamid.r2", gone, "🙏", "1761000200"))) // a replay
			post(live(reaction("wamid.r3", gone, "", "1761000300")))
			if _, n, items = state(); n != 1 || items[0].WAMID != "wamid.t1" {
				t.Fatalf("after the removal: %d items %+v", n, items)
			}
			post(live(reaction("wamid.r4", gone, "❤️", "1761000400")))
			post(live(text(gone, "A mensagem que faltava", "1761000050")))
			_, n, items = state()
			if n != 2 || items[1].WAMID != gone || len(items[1].Reactions) != 1 || items[1].Reactions[0].Emoji != "❤️" {
				t.Fatalf("after the message arrived: %d items %+v", n, items)
			}
		})
	}
}
