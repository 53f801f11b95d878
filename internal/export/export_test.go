package export_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/export"
)

var thread = export.Thread{
	ID: 42, PhoneNumberID: "623400011122233", BusinessName: "Doces da Vila", ContactWAID: "5511912345678",
	ContactName: "Ana Souza", MessageCount: 5, FirstMessageAt: 1760954100, LastMessageAt: 1760954520,
}

// hostile texts: formulas, markup, line breaks of every kind, quotes, commas, emoji.
func sampleMessages() []export.Message {
	return []export.Message{
		{WAMID: "wamid.1", Timestamp: 1760954100, Direction: "inbound", Type: "text", Text: "Oi! Vocês ainda têm o bolo de cenoura?", Status: "read", Origin: "history",
			Reactions: []export.Reaction{{Emoji: "❤️", Direction: "outbound"}}},
		{WAMID: "wamid.2", Timestamp: 1760954187, Direction: "outbound", Type: "text", Text: "Temos sim!\nRetirada até as 14h, \"combinado\"; ok?", Status: "read", Origin: "echo", Edited: true,
			OriginalText: "=SUM(1,2) temos", Edits: []export.Edit{{WAMID: "wamid.2e", Text: "Temos sim!\nRetirada até as 14h, \"combinado\"; ok?", Timestamp: 1760954200}}},
		{WAMID: "wamid.3", Timestamp: 1760954300, Direction: "inbound", Type: "text", Text: "=HYPERLINK(\"http://evil\",\"x\")", Status: "", Origin: "live"},
		{WAMID: "wamid.4", Timestamp: 1760954310, Direction: "inbound", Type: "text", Text: "'quoted' -minus +plus @at \\n not a newline\r\nwindows\u2028ls", Origin: "live", Deleted: true},
		{WAMID: "wamid.5", Timestamp: 1760954402, Direction: "inbound", Type: "image", Text: "<script>alert(1)</script>", MediaID: "1234567890", MimeType: "image/jpeg", Origin: "history"},
		{WAMID: "wamid.6", Timestamp: 1760954520, Direction: "outbound", Type: "location", Text: "Doces da Vila — Av. Paulista, 1000", Status: "delivered", Origin: "history",
			Location:  &export.Location{Latitude: -23.561684, Longitude: -46.655981, Name: "Doces da Vila", Address: "Av. Paulista, 1000 - Bela Vista"},
			Reactions: []export.Reaction{{Emoji: "👍", Direction: "inbound"}, {Emoji: "🙏", Direction: "outbound"}}},
		{WAMID: "wamid.7", Timestamp: 1760954600, Direction: "inbound", Type: "media_placeholder", Origin: "history"},
		{WAMID: "wamid.8", Timestamp: 1760954700, Direction: "inbound", Type: "reaction", Text: "😂", Origin: "live", ReactionTo: "wamid.gone"},
	}
}

func writeAll(t *testing.T, format string, msgs []export.Message, opts export.Options) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := export.New(format, &buf, thread, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 { // pages
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// withSenders is what the readers give back: the writers add each message's sender.
func withSenders(msgs []export.Message) []export.Message {
	out := make([]export.Message, len(msgs))
	for i, m := range msgs {
		m.Sender = thread.Sender(m.Direction)
		out[i] = m
	}
	return out
}

func TestJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 20, 14, 3, 7, 0, time.UTC)
	for _, msgs := range [][]export.Message{sampleMessages(), nil} {
		out := writeAll(t, export.FormatJSON, msgs, export.Options{ExportedAt: at})
		doc, err := export.ReadJSON(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if doc.Format != export.DocumentFormat || doc.ExportedAt == nil || !doc.ExportedAt.Equal(at) {
			t.Fatalf("header %q %v", doc.Format, doc.ExportedAt)
		}
		if !reflect.DeepEqual(doc.Thread, thread) {
			t.Fatalf("thread %+v", doc.Thread)
		}
		want := withSenders(msgs)
		if len(want) == 0 {
			want = []export.Message{}
		}
		if !reflect.DeepEqual(doc.Messages, want) {
			t.Fatalf("messages differ:\n got %+v\nwant %+v", doc.Messages, want)
		}
	}
}

func TestJSONIsInertInHTML(t *testing.T) {
	out := writeAll(t, export.FormatJSON, sampleMessages(), export.Options{})
	if strings.Contains(out, "<script>") {
		t.Fatal("raw <script> in the JSON export")
	}
}

func TestCSVRoundTrip(t *testing.T) {
	msgs := sampleMessages()
	out := writeAll(t, export.FormatCSV, msgs, export.Options{})
	if !strings.HasPrefix(out, "\ufeffwamid,timestamp,time_utc,") {
		t.Fatalf("no BOM + header: %.60q", out)
	}
	got, err := export.ReadCSV(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := withSenders(msgs)
	// The CSV keeps "\r\n" inside a quoted cell as written by encoding/csv, which reads it
	// back as "\n".
	want[3].Text = strings.ReplaceAll(want[3].Text, "\r\n", "\n")
	for i := range want {
		want[i].Edits = nil // the CSV has original_text but no column for the list of edits (the JSON export has it)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("messages differ:\n got %+v\nwant %+v", got, want)
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	out := writeAll(t, export.FormatCSV, sampleMessages(), export.Options{})
	lines := strings.Split(out, "\n")
	var formula string
	for _, l := range lines {
		if strings.HasPrefix(l, "wamid.3,") {
			formula = l
		}
	}
	if !strings.Contains(out, `,"'=SUM(1,2) temos"`) {
		t.Fatal("the original text cell is not defused")
	}
	if !strings.Contains(formula, `,"'=HYPERLINK(""http://evil"",""x"")",`) {
		t.Fatalf("formula cell not defused: %q", formula)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "wamid.6,") && !strings.Contains(l, ",-23.561684,-46.655981,") {
			t.Fatalf("coordinates must stay numbers: %q", l)
		}
	}
}

func TestTextLines(t *testing.T) {
	out := writeAll(t, export.FormatText, sampleMessages(), export.Options{})
	want := []string{
		`[2025-10-20 09:55] Ana Souza: Oi! Vocês ainda têm o bolo de cenoura? [reactions: ❤️]`,
		`[2025-10-20 09:56] Doces da Vila: Temos sim!\nRetirada até as 14h, "combinado"; ok? <edited; first: =SUM(1,2) temos>`,
		`[2025-10-20 09:58] Ana Souza: =HYPERLINK("http://evil","x")`,
		`[2025-10-20 09:58] Ana Souza: 'quoted' -minus +plus @at \\n not a newline\nwindows\u2028ls <deleted>`,
		`[2025-10-20 10:00] Ana Souza: <image omitted> <script>alert(1)</script>`,
		`[2025-10-20 10:02] Doces da Vila: location: -23.561684,-46.655981 Doces da Vila, Av. Paulista, 1000 - Bela Vista [reactions: 👍 🙏]`,
		`[2025-10-20 10:03] Ana Souza: <media omitted>`,
		`[2025-10-20 10:05] Ana Souza: <reacted 😂 to a message not in the archive: wamid.gone>`,
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !reflect.DeepEqual(got, want) {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// One line per message, and the escapes come back.
	if n := strings.Count(out, "\n"); n != len(want) {
		t.Fatalf("%d lines, want %d", n, len(want))
	}
	body := strings.SplitN(strings.Split(out, "\n")[3], ": ", 2)[1]
	if got := export.UnescapeText(body); got != "'quoted' -minus +plus @at \\n not a newline\nwindows\u2028ls <deleted>" {
		t.Fatalf("unescaped %q", got)
	}
}

func TestTextTimeZone(t *testing.T) {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	line := export.TextLine(thread, sampleMessages()[0], sp)
	if !strings.HasPrefix(line, "[2025-10-20 06:55] ") {
		t.Fatalf("line %q", line)
	}
}

func TestSenderAndFileName(t *testing.T) {
	cases := []struct {
		thread    export.Thread
		direction string
		want      string
	}{
		{thread, "inbound", "Ana Souza"},
		{thread, "outbound", "Doces da Vila"},
		{export.Thread{ContactWAID: "5511"}, "inbound", "+5511"},
		{export.Thread{}, "inbound", "Contact"},
		{export.Thread{}, "outbound", "Business"},
	}
	for _, tc := range cases {
		if got := tc.thread.Sender(tc.direction); got != tc.want {
			t.Errorf("Sender(%q) = %q, want %q", tc.direction, got, tc.want)
		}
	}
	if got := export.FileName(export.Thread{ID: 7, ContactWAID: `55"; rm -rf /11`}, "csv"); got != "whatsapp-thread-7-5511.csv" {
		t.Fatalf("file name %q", got)
	}
	if _, err := export.New("xml", &bytes.Buffer{}, thread, export.Options{}); err == nil {
		t.Fatal("unknown format accepted")
	}
}
