package sim

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendJSONIsEncodingJSON pins the message encoder that writes history chunks one
// message at a time to what encodeWebhook writes through encoding/json for the same value.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	msgs := []wireMessage{
		{From: "5511912345678", ID: "wamid.A/B+C=", Timestamp: "1761040230", Type: "text",
			Text:           &wireText{Body: "Olá \"Ana\" \\ <b>&</b> / tab\tcr\rnl\nbell\x07 \u2028 🎂 \xff fim"},
			HistoryContext: &historyContext{Status: "READ"}},
		{From: "5511987650000", To: "5511912345678", ID: "wamid.2", Timestamp: "1", Type: "reaction",
			Reaction:       &wireReaction{MessageID: "wamid.1", Emoji: "\u2764\ufe0f"},
			HistoryContext: &historyContext{Status: "played", FromMe: true}},
		{From: "1", ID: "3", Timestamp: "2", Type: "location", Location: &wireLocation{Latitude: -23.561684, Longitude: 1e-7}},
		{From: "1", ID: "4", Timestamp: "2", Type: "location", Location: &wireLocation{Latitude: 38.697559, Longitude: -9.203183, Name: "Pastéis de Belém", Address: "R. de Belém 84-92"}},
		{From: "1", ID: "5", Timestamp: "2", Type: "image", Image: &wireMedia{Caption: "foto 😍", MimeType: "image/jpeg", SHA256: "ab", ID: "9"}},
		{From: "1", ID: "6", Timestamp: "2", Type: "audio", Audio: &wireMedia{MimeType: "audio/ogg; codecs=opus", SHA256: "cd", ID: "8", Voice: true}},
		{From: "1", ID: "7", Timestamp: "2", Type: "document", Document: &wireMedia{Filename: "nota-fiscal-1234.pdf", MimeType: "application/pdf", SHA256: "ef", ID: "7"}},
		{From: "1", ID: "8", Timestamp: "2", Type: "media_placeholder"},
	}
	type plain wireMessage // the same fields without MarshalJSON: what encoding/json writes
	for i, m := range msgs {
		want, err := encodeWebhook(plain(m))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("message %d:\n got %s\nwant %s", i, got, want)
		}
		if again := metaEscape(want); !bytes.Equal(again, want) {
			t.Errorf("message %d: escaping twice changed it:\n%s\n%s", i, again, want)
		}
	}

	var l threadList
	for i, thread := range []string{"a", "a", "b", "a"} {
		l.add(thread, &msgs[i%len(msgs)])
	}
	var threads []struct {
		ID       string            `json:"id"`
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(l.json(), &threads); err != nil {
		t.Fatalf("thread list: %v", err)
	}
	if len(threads) != 3 || l.threads != 3 || l.messages != 4 || threads[0].ID != "a" || len(threads[0].Messages) != 2 || threads[2].ID != "a" {
		t.Fatalf("thread list %d items (%d, %d messages): %+v", len(threads), l.threads, l.messages, threads)
	}
}
