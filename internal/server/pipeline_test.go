package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/registry"
	"coexhistory/internal/store/storetest"
	"coexhistory/internal/webhook"
	"coexhistory/models"
)

// TestWebhookToAPI drives the whole pipeline: signed webhooks in (twice, in a different
// order), the ingest worker, then the read API sees each message exactly once.
func TestWebhookToAPI(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("../coex/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bodies := [][]byte{read("smb-message-echoes.json"), read("history-chunk.json"), read("smb-app-state-sync.json")}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app := apptest.New(t, dialect, apptest.Options{})
			if _, err := app.Services.Registry.Create(context.Background(), registry.Actor{Name: "test"}, registry.Input{
				Label: "Doces da Vila", DisplayPhoneNumber: "5511987650000", PhoneNumberID: "623400011122233",
				WABAID: "810023456789012", Provider: "meta", AccessToken: "EAAGtest",
			}); err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 2; round++ { // the second round is a full replay
				for _, b := range bodies {
					req, _ := http.NewRequest("POST", app.Server.URL+"/webhooks/whatsapp", bytes.NewReader(b))
					req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte(apptest.AppSecret), b))
					res, err := http.DefaultClient.Do(req)
					if err != nil || res.StatusCode != 200 {
						t.Fatalf("post: %v %v", res, err)
					}
					res.Body.Close()
				}
				if _, err := app.Services.Ingest.Drain(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			token := app.Token(models.RoleAgent)
			var threads struct {
				Data []struct {
					ID           uint64 `json:"id"`
					ContactWAID  string `json:"contact_wa_id"`
					ContactName  string `json:"contact_name"`
					MessageCount int    `json:"message_count"`
				} `json:"data"`
			}
			getJSON(t, app, "/api/v1/threads?phone_number_id=623400011122233", token, &threads)
			if len(threads.Data) != 2 {
				t.Fatalf("threads: %+v", threads.Data)
			}
			byContact := map[string]int{}
			names := map[string]string{}
			var mariana uint64
			for _, th := range threads.Data {
				byContact[th.ContactWAID] = th.MessageCount
				names[th.ContactWAID] = th.ContactName
				if th.ContactWAID == "5511912345678" {
					mariana = th.ID
				}
			}
			// 5 history messages (one a reaction, shown on its message) + 2 echoes (text,
			// image); the revoke marks the text deleted.
			if byContact["5511912345678"] != 6 || byContact["5521998877665"] != 3 {
				t.Fatalf("message counts %v", byContact)
			}
			if names["5511912345678"] != "Mariana Costa Ribeiro" {
				t.Fatalf("contact names %v", names)
			}
			var msgs struct {
				Data []struct {
					WAMID     string `json:"wamid"`
					Direction string `json:"direction"`
					Type      string `json:"type"`
					Timestamp int64  `json:"timestamp"`
					Status    string `json:"status"`
					Origin    string `json:"origin"`
					Deleted   bool   `json:"deleted"`
					Reactions []struct {
						Emoji string `json:"emoji"`
					} `json:"reactions"`
				} `json:"data"`
			}
			getJSON(t, app, "/api/v1/threads/"+itoa(mariana)+"/messages?limit=100", token, &msgs)
			// The reaction is stored but attached to its message, not listed: the list holds
			// message_count items.
			if len(msgs.Data) != byContact["5511912345678"] {
				t.Fatalf("messages: %d", len(msgs.Data))
			}
			deleted, reactions := 0, 0
			for i, m := range msgs.Data {
				for _, r := range m.Reactions {
					if r.Emoji != "\u2764\ufe0f" {
						t.Fatalf("reaction %q", r.Emoji)
					}
					reactions++
				}
				if i > 0 && m.Timestamp < msgs.Data[i-1].Timestamp {
					t.Fatalf("messages out of order at %d", i)
				}
				if m.Deleted {
					deleted++
				}
			}
			if first := msgs.Data[0]; first.Direction != "inbound" || first.Type != "text" || first.Origin != "history" {
				t.Fatalf("first message %+v", first)
			}
			if last := msgs.Data[5]; last.Origin != "echo" || last.Direction != "outbound" {
				t.Fatalf("last message %+v", last)
			}
			if reactions != 1 {
				t.Fatalf("%d reactions listed, want the one of the chunk", reactions)
			}
			if deleted != 1 {
				t.Fatalf("%d deleted messages, want the revoked one", deleted)
			}
			var sync struct {
				State         string `json:"state"`
				Progress      int    `json:"progress"`
				MessagesTotal int    `json:"messages_total"`
				ThreadsTotal  int    `json:"threads_total"`
			}
			getJSON(t, app, "/api/v1/numbers/623400011122233/sync", token, &sync)
			if sync.State != models.SyncReceiving || sync.Progress != 42 || sync.ThreadsTotal != 2 || sync.MessagesTotal != byContact["5511912345678"]+byContact["5521998877665"] {
				t.Fatalf("sync %+v", sync)
			}
		})
	}
}

func getJSON(t *testing.T, app *apptest.App, path, token string, v any) {
	t.Helper()
	res, body := app.API("GET", path, token, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }
