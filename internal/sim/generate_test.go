package sim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The decode types below read the bodies back independently of the encoder's types.

type testEnvelope struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				MessagingProduct string `json:"messaging_product"`
				Metadata         struct {
					Display string `json:"display_phone_number"`
					PNID    string `json:"phone_number_id"`
				} `json:"metadata"`
				History []struct {
					Metadata *struct {
						Phase      *int `json:"phase"`
						ChunkOrder *int `json:"chunk_order"`
						Progress   *int `json:"progress"`
					} `json:"metadata"`
					Threads []struct {
						ID       string            `json:"id"`
						Messages []json.RawMessage `json:"messages"`
					} `json:"threads"`
					Errors []struct {
						Code      int    `json:"code"`
						Title     string `json:"title"`
						ErrorData struct {
							Details string `json:"details"`
						} `json:"error_data"`
					} `json:"errors"`
				} `json:"history"`
				Messages  []json.RawMessage `json:"messages"`
				StateSync []struct {
					Type    string `json:"type"`
					Action  string `json:"action"`
					Contact struct {
						FullName  string `json:"full_name"`
						FirstName string `json:"first_name"`
						Phone     string `json:"phone_number"`
					} `json:"contact"`
					Metadata struct {
						Timestamp string `json:"timestamp"`
					} `json:"metadata"`
				} `json:"state_sync"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type testMessage struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	Image    *testMedia `json:"image"`
	Audio    *testMedia `json:"audio"`
	Document *testMedia `json:"document"`
	Context  *struct {
		Status string `json:"status"`
		FromMe *bool  `json:"from_me"`
	} `json:"history_context"`
}

type testMedia struct {
	Caption  string `json:"caption"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	ID       string `json:"id"`
}

func decodeEnvelope(t *testing.T, body []byte) testEnvelope {
	t.Helper()
	var env testEnvelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("body is not valid JSON: %v\n%s", err, body)
	}
	if env.Object != "whatsapp_business_account" || len(env.Entry) != 1 || len(env.Entry[0].Changes) != 1 {
		t.Fatalf("envelope shape: object %q, %d entries", env.Object, len(env.Entry))
	}
	return env
}

func testNumber() Number {
	return Number{PhoneNumberID: "623400011122233", DisplayPhoneNumber: "5511987650000", WABAID: "810023456789012"}
}

func testConfig() HistoryConfig {
	return HistoryConfig{Seed: 7, Contacts: 30, Messages: 1500, ChunkSize: 100, Now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
}

func mustGenerate(t *testing.T, n Number, cfg HistoryConfig) *History {
	t.Helper()
	h, err := Generate(n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func allBodies(h *History) [][]byte {
	out := append([][]byte{}, h.ContactBodies...)
	out = append(out, h.ChunkBodies()...)
	out = append(out, h.MediaFollowUps...)
	return append(out, h.DeclinedBody)
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := allBodies(mustGenerate(t, testNumber(), testConfig()))
	b := allBodies(mustGenerate(t, testNumber(), testConfig()))
	if len(a) != len(b) {
		t.Fatalf("same inputs gave %d and %d bodies", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("body %d differs between two runs with the same inputs", i)
		}
	}

	otherSeed := testConfig()
	otherSeed.Seed = 8
	otherNumber := testNumber()
	otherNumber.PhoneNumberID = "623400099999999"
	for name, h := range map[string]*History{
		"seed":   mustGenerate(t, testNumber(), otherSeed),
		"number": mustGenerate(t, otherNumber, testConfig()),
	} {
		if bytes.Equal(h.Chunks[0].Body, mustGenerate(t, testNumber(), testConfig()).Chunks[0].Body) {
			t.Errorf("a different %s gave the same first chunk", name)
		}
		if h.Contacts[0] == mustGenerate(t, testNumber(), testConfig()).Contacts[0] {
			t.Errorf("a different %s gave the same first contact", name)
		}
	}
}

func TestGenerateRejectsEmptyNumber(t *testing.T) {
	if _, err := Generate(Number{}, testConfig()); err == nil {
		t.Fatal("Generate accepted an empty phone number id")
	}
}

func TestChunksHaveMetasShape(t *testing.T) {
	n, cfg := testNumber(), testConfig()
	h := mustGenerate(t, n, cfg)
	now := cfg.Now.Unix()

	seenOrder := map[[2]int]bool{}
	seenID := map[string]bool{}
	threadTimes := map[string][]int64{}
	threadIDs := map[string]map[string]int64{} // thread → wamid → timestamp
	threadChunks := map[string]map[[2]int]bool{}
	statuses := map[string]bool{}
	types := map[string]int{}
	var placeholders []testMessage
	var texts []string
	type reactionRef struct {
		thread, id, target string
		ts                 int64
	}
	var reactions []reactionRef
	total, lastProgress, multiThreadChunk := 0, -1, false

	for i, c := range h.Chunks {
		env := decodeEnvelope(t, c.Body)
		e := env.Entry[0]
		ch := e.Changes[0]
		if e.ID != n.WABAID || ch.Field != "history" || ch.Value.MessagingProduct != "whatsapp" ||
			ch.Value.Metadata.PNID != n.PhoneNumberID || ch.Value.Metadata.Display != n.DisplayPhoneNumber {
			t.Fatalf("chunk %d: envelope %+v", i, e)
		}
		if len(ch.Value.History) != 1 || ch.Value.History[0].Metadata == nil {
			t.Fatalf("chunk %d: want one history item with metadata", i)
		}
		item := ch.Value.History[0]
		md := item.Metadata
		if md.Phase == nil || md.ChunkOrder == nil || md.Progress == nil {
			t.Fatalf("chunk %d: metadata misses phase, chunk_order or progress", i)
		}
		phase, order, progress := *md.Phase, *md.ChunkOrder, *md.Progress
		if phase < 0 || phase > 2 {
			t.Fatalf("chunk %d: phase %d", i, phase)
		}
		if phase != c.Phase || order != c.Order || progress != c.Progress {
			t.Fatalf("chunk %d: body metadata %d/%d/%d, Chunk %d/%d/%d", i, phase, order, progress, c.Phase, c.Order, c.Progress)
		}
		if i > 0 && (phase < h.Chunks[i-1].Phase || phase == h.Chunks[i-1].Phase && order != h.Chunks[i-1].Order+1) {
			t.Fatalf("chunk %d: phase %d order %d after %d/%d", i, phase, order, h.Chunks[i-1].Phase, h.Chunks[i-1].Order)
		}
		key := [2]int{phase, order}
		if seenOrder[key] {
			t.Fatalf("chunk_order %d repeated in phase %d", order, phase)
		}
		seenOrder[key] = true
		if progress < lastProgress || progress > 100 {
			t.Fatalf("chunk %d: progress %d after %d", i, progress, lastProgress)
		}
		if progress == 100 && i != len(h.Chunks)-1 {
			t.Fatalf("chunk %d of %d already has progress 100", i, len(h.Chunks))
		}
		lastProgress = progress
		if len(item.Threads) > 1 {
			multiThreadChunk = true
		}
		count := 0
		for _, th := range item.Threads {
			if th.ID == "" || th.ID == n.DisplayPhoneNumber {
				t.Fatalf("chunk %d: thread id %q", i, th.ID)
			}
			if threadChunks[th.ID] == nil {
				threadChunks[th.ID] = map[[2]int]bool{}
				threadIDs[th.ID] = map[string]int64{}
			}
			threadChunks[th.ID][key] = true
			for _, raw := range th.Messages {
				count++
				var m testMessage
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatalf("chunk %d: message: %v", i, err)
				}
				if !strings.HasPrefix(m.ID, "wamid.") || seenID[m.ID] {
					t.Fatalf("wamid %q missing or repeated", m.ID)
				}
				seenID[m.ID] = true
				ts, err := strconv.ParseInt(m.Timestamp, 10, 64)
				if err != nil || ts >= now || ts < now-int64(HistorySpan/time.Second) {
					t.Fatalf("message %s: timestamp %q outside the 180 days before onboarding", m.ID, m.Timestamp)
				}
				if got := phaseOf(now, ts); got != phase {
					t.Fatalf("message %s of age %ds is in phase %d, want %d", m.ID, now-ts, phase, got)
				}
				if m.Context == nil || m.Context.Status == "" {
					t.Fatalf("message %s has no history_context.status", m.ID)
				}
				statuses[m.Context.Status] = true
				outbound := m.Context.FromMe != nil && *m.Context.FromMe
				if outbound && m.From != n.DisplayPhoneNumber || !outbound && m.From != th.ID {
					t.Fatalf("message %s: from %q, from_me %v, thread %s", m.ID, m.From, outbound, th.ID)
				}
				types[m.Type]++
				switch m.Type {
				case "text":
					if m.Text == nil || m.Text.Body == "" {
						t.Fatalf("text %s has no body", m.ID)
					}
					texts = append(texts, m.Text.Body)
				case "reaction":
					if m.Reaction == nil || m.Reaction.Emoji == "" {
						t.Fatalf("reaction %s has no emoji", m.ID)
					}
					reactions = append(reactions, reactionRef{thread: th.ID, id: m.ID, target: m.Reaction.MessageID, ts: ts})
				case "location":
					if m.Location == nil || m.Location.Latitude == 0 {
						t.Fatalf("location %s has no coordinates", m.ID)
					}
				case "media_placeholder":
					if m.Image != nil || m.Audio != nil || m.Document != nil || m.Text != nil {
						t.Fatalf("placeholder %s carries content", m.ID)
					}
					placeholders = append(placeholders, m)
				default:
					t.Fatalf("message %s: unexpected type %q", m.ID, m.Type)
				}
				threadIDs[th.ID][m.ID] = ts
				threadTimes[th.ID] = append(threadTimes[th.ID], ts)
			}
		}
		if count != c.Messages || count == 0 || count > cfg.ChunkSize {
			t.Fatalf("chunk %d holds %d messages; Chunk says %d, chunk size %d", i, count, c.Messages, cfg.ChunkSize)
		}
		total += count
	}
	if total != cfg.Messages || len(h.Messages) != cfg.Messages {
		t.Fatalf("chunks hold %d messages, records %d, want %d", total, len(h.Messages), cfg.Messages)
	}
	if lastProgress != 100 {
		t.Fatalf("last progress %d, want 100", lastProgress)
	}
	for p := 0; p <= 2; p++ {
		if !seenOrder[[2]int{p, 1}] {
			t.Errorf("phase %d has no chunk", p)
		}
	}
	// Older phases come later, so a reaction's target may arrive in a later chunk.
	for _, r := range reactions {
		target, ok := threadIDs[r.thread][r.target]
		if !ok || target > r.ts || r.target == r.id {
			t.Fatalf("reaction %s points to %s, not an earlier message of its thread", r.id, r.target)
		}
	}
	if len(reactions) == 0 {
		t.Error("no reaction")
	}
	if !multiThreadChunk {
		t.Error("no chunk holds several threads")
	}
	spans := false
	for _, chunks := range threadChunks {
		if len(chunks) > 1 {
			spans = true
		}
	}
	if !spans {
		t.Error("no thread spans several chunks")
	}
	sameSecond := false
	for _, times := range threadTimes {
		seen := map[int64]bool{}
		for _, ts := range times {
			if seen[ts] {
				sameSecond = true
			}
			seen[ts] = true
		}
	}
	if !sameSecond {
		t.Error("no thread has two messages with the same timestamp")
	}
	for _, typ := range []string{"text", "media_placeholder", "reaction", "location"} {
		if types[typ] == 0 {
			t.Errorf("no message of type %s", typ)
		}
	}
	for _, s := range []string{"READ", "DELIVERED", "SENT", "PLAYED", "ERROR"} {
		if !statuses[s] {
			t.Errorf("status %s never used", s)
		}
	}
	lower := false
	for s := range statuses {
		if s == strings.ToLower(s) {
			lower = true
		}
	}
	if !lower {
		t.Error("no lowercase status")
	}
	counts := map[string]int{}
	portuguese, english, emoji := false, false, false
	for _, body := range texts {
		for _, want := range []string{RareWord, HTMLText, ScriptText} {
			if strings.Contains(body, want) {
				counts[want]++
			}
		}
		portuguese = portuguese || strings.ContainsAny(body, "ãçéô")
		english = english || strings.Contains(body, "order") || strings.Contains(body, "Thank")
		emoji = emoji || strings.ContainsRune(body, '✅') || strings.ContainsRune(body, '😊')
	}
	if counts[RareWord] != 1 || counts[HTMLText] != 1 || counts[ScriptText] != 1 {
		t.Errorf("planted texts: %v, want each once", counts)
	}
	if !portuguese || !english || !emoji {
		t.Errorf("texts: portuguese %v, english %v, emoji %v", portuguese, english, emoji)
	}

	// Media follow-ups: exactly the placeholders of the last 14 days, with a real type.
	wantFollow := map[string]testMessage{}
	for _, p := range placeholders {
		ts, _ := strconv.ParseInt(p.Timestamp, 10, 64)
		if now-ts <= int64(MediaFollowUpWindow/time.Second) {
			wantFollow[p.ID] = p
		}
	}
	if len(wantFollow) == 0 || len(wantFollow) == len(placeholders) {
		t.Fatalf("%d of %d placeholders are recent; want some but not all", len(wantFollow), len(placeholders))
	}
	got := 0
	for _, body := range h.MediaFollowUps {
		env := decodeEnvelope(t, body)
		v := env.Entry[0].Changes[0].Value
		if env.Entry[0].Changes[0].Field != "history" || len(v.History) != 0 || len(v.Messages) == 0 || len(v.Messages) > FollowUpsPerWebhook {
			t.Fatalf("follow-up shape: field %q, %d history, %d messages", env.Entry[0].Changes[0].Field, len(v.History), len(v.Messages))
		}
		for _, raw := range v.Messages {
			var m testMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			p, ok := wantFollow[m.ID]
			if !ok {
				t.Fatalf("follow-up %s has no recent placeholder", m.ID)
			}
			delete(wantFollow, m.ID)
			got++
			media := map[string]*testMedia{"image": m.Image, "audio": m.Audio, "document": m.Document}[m.Type]
			if media == nil || media.ID == "" || media.MimeType == "" || len(media.SHA256) != 64 || m.From != p.From {
				t.Fatalf("follow-up %s: type %q, media %+v", m.ID, m.Type, media)
			}
		}
	}
	if len(wantFollow) != 0 || got == 0 {
		t.Fatalf("%d recent placeholders got no follow-up", len(wantFollow))
	}
}

func TestBodiesAreWrittenLikeMeta(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	var all []byte
	for _, b := range allBodies(h) {
		all = append(all, b...)
	}
	for _, c := range all {
		if c >= 0x80 {
			t.Fatal("a body holds raw non-ASCII bytes; Meta escapes them")
		}
	}
	for _, want := range []string{`\u00e3`, `\ud83d`, `application\/pdf`, `<script>`} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("bodies do not contain %s", want)
		}
	}
}

func TestContactsWebhooks(t *testing.T) {
	cfg := testConfig()
	cfg.Contacts = ContactsPerWebhook + 20
	cfg.Messages = 10
	h := mustGenerate(t, testNumber(), cfg)
	if len(h.ContactBodies) != 2 {
		t.Fatalf("%d contact bodies, want 2", len(h.ContactBodies))
	}
	phones := map[string]bool{}
	foreign := 0
	for _, body := range h.ContactBodies {
		env := decodeEnvelope(t, body)
		ch := env.Entry[0].Changes[0]
		if ch.Field != "smb_app_state_sync" || ch.Value.Metadata.PNID != testNumber().PhoneNumberID {
			t.Fatalf("contacts webhook: field %q", ch.Field)
		}
		for _, s := range ch.Value.StateSync {
			if s.Type != "contact" || s.Action != "add" || s.Contact.FullName == "" || s.Contact.FirstName == "" ||
				!strings.HasPrefix(s.Contact.FullName, s.Contact.FirstName) || !digits(s.Contact.Phone) || s.Metadata.Timestamp == "" {
				t.Fatalf("contact %+v", s)
			}
			if phones[s.Contact.Phone] {
				t.Fatalf("phone %s repeated", s.Contact.Phone)
			}
			phones[s.Contact.Phone] = true
			if !strings.HasPrefix(s.Contact.Phone, "55") {
				foreign++
			}
		}
	}
	if len(phones) != cfg.Contacts || foreign == 0 || foreign > cfg.Contacts/2 {
		t.Fatalf("%d contacts (%d foreign), want %d mostly Brazilian", len(phones), foreign, cfg.Contacts)
	}
}

func TestGenerateEdgeSizes(t *testing.T) {
	cfg := testConfig()
	cfg.Messages, cfg.Contacts = 0, 0
	h := mustGenerate(t, testNumber(), cfg)
	if len(h.Chunks) != 0 || len(h.ContactBodies) != 0 || len(h.MediaFollowUps) != 0 || len(h.DeclinedBody) == 0 {
		t.Fatalf("empty history: %d chunks, %d contact bodies", len(h.Chunks), len(h.ContactBodies))
	}
	cfg.Messages, cfg.ChunkSize = 1, 0
	h = mustGenerate(t, testNumber(), cfg)
	if len(h.Chunks) != 1 || h.Chunks[0].Progress != 100 || h.Config.ChunkSize != DefaultChunkSize || len(h.Threads()) != 1 {
		t.Fatalf("one message: %+v", h.Chunks)
	}
}

func TestMessageIndex(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	outbound := 0
	for _, m := range h.Messages {
		got, ok := h.Message(m.ID)
		if !ok || got != m {
			t.Fatalf("Message(%s) = %+v, %v", m.ID, got, ok)
		}
		if m.Outbound {
			outbound++
			byHID, ok := h.MessageByHistoryID(m.HistoryID)
			if m.HistoryID == "" || !ok || byHID.ID != m.ID {
				t.Fatalf("outbound %s: history id %q", m.ID, m.HistoryID)
			}
		} else if m.HistoryID != "" {
			t.Fatalf("inbound %s has a history id", m.ID)
		}
	}
	if outbound == 0 || outbound == len(h.Messages) {
		t.Fatalf("%d of %d messages outbound", outbound, len(h.Messages))
	}
	if _, ok := h.Message("wamid.unknown"); ok {
		t.Fatal("Message found an unknown wamid")
	}
	if got := len(h.Threads()); got < 10 || got > testConfig().Contacts+3 {
		t.Fatalf("%d threads for %d contacts", got, testConfig().Contacts)
	}
}

func TestDeclinedBody(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	env := decodeEnvelope(t, h.DeclinedBody)
	v := env.Entry[0].Changes[0].Value
	if env.Entry[0].Changes[0].Field != "history" || len(v.History) != 1 || len(v.History[0].Errors) != 1 ||
		v.History[0].Errors[0].Code != CodeHistoryDeclined || v.History[0].Metadata != nil || len(v.History[0].Threads) != 0 {
		t.Fatalf("declined body: %s", h.DeclinedBody)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := testConfig()
	cfg.Messages, cfg.Contacts, cfg.ChunkSize = 10000, 200, 500
	for b.Loop() {
		if _, err := Generate(testNumber(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Messages), "messages/op")
}
