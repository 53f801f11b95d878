package sim

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of HistoryConfig.
const (
	DefaultChunkSize = 200
	// ContactsPerWebhook is how many contacts one smb_app_state_sync webhook carries at most.
	ContactsPerWebhook = 250
	// FollowUpsPerWebhook is how many media follow-ups one history webhook carries at most.
	FollowUpsPerWebhook = 4
	// MediaFollowUpWindow is how far back from onboarding media follow-ups are sent.
	MediaFollowUpWindow = 14 * 24 * time.Hour
	// HistorySpan is how far back from onboarding the history reaches.
	HistorySpan = 180 * 24 * time.Hour
	// CodeHistoryDeclined is the history webhook error sent when the business declined.
	CodeHistoryDeclined = 2593109
)

// defaultNowUnix is the onboarding time used when HistoryConfig.Now is zero
// (2026-03-02T12:00:00Z), so that Generate stays deterministic.
const defaultNowUnix = 1772452800

// Number is one business phone number the simulator serves.
type Number struct {
	PhoneNumberID      string // Meta's phone_number_id: the routing key of every webhook
	DisplayPhoneNumber string // digits; outbound messages come from it. Derived when empty
	WABAID             string // entry[].id of the webhooks. Derived when empty
	PositusID          string // the number's id at Positus; "" when Positus does not serve it
}

// withDefaults fills the derived fields of n.
func (n Number) withDefaults() Number {
	h := hash64("number", n.PhoneNumberID)
	if n.DisplayPhoneNumber == "" {
		n.DisplayPhoneNumber = fmt.Sprintf("55119%08d", h%100000000)
	}
	if n.WABAID == "" {
		n.WABAID = fmt.Sprintf("8100%011d", (h>>20)%100000000000)
	}
	return n
}

// HistoryConfig sizes a generated history.
type HistoryConfig struct {
	Seed      int64
	Contacts  int       // address-book contacts; threads also exist with about one unsaved number per ten
	Messages  int       // messages in all phases
	ChunkSize int       // messages per history chunk; 0 means DefaultChunkSize
	Now       time.Time // onboarding time (day 0 of the phases); zero means 2026-03-02T12:00:00Z
}

func (c HistoryConfig) withDefaults() HistoryConfig {
	if c.ChunkSize <= 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.Contacts < 0 {
		c.Contacts = 0
	}
	if c.Messages < 0 {
		c.Messages = 0
	}
	if c.Now.IsZero() {
		c.Now = time.Unix(defaultNowUnix, 0).UTC()
	}
	return c
}

// Contact is one address-book entry of a generated history.
type Contact struct {
	PhoneNumber string
	FullName    string
	FirstName   string
}

// Chunk is one history webhook of an approved sync.
type Chunk struct {
	Phase    int // 0: last day, 1: days 1-90, 2: days 90-180
	Order    int // chunk_order, counted from 1 within each phase
	Progress int // 0-100; 100 only on the last chunk in natural order
	Threads  int // thread items in the chunk
	Messages int // messages in the chunk
	Body     []byte
}

// MessageRecord describes one generated message, for tests and for the events API.
type MessageRecord struct {
	ID         string // wamid
	HistoryID  string // Message-History-ID of an outbound message; "" for inbound ones
	Thread     string // threads[].id: the other party's number
	From       string
	Outbound   bool
	Type       string // type in the history chunk: text, media_placeholder, reaction or location
	MediaType  string // image, audio or document for a media_placeholder
	FollowUp   bool   // a media follow-up with the real type is sent (media of the last 14 days)
	Timestamp  int64  // Unix seconds
	Status     string // history_context.status as sent; the case varies like in real traffic
	Phase      int
	ChunkOrder int
	Text       string // text body or media caption
	ReactionTo string // wamid a reaction points to
}

// History is a generated, deterministic message history of one number: the same Number and
// HistoryConfig always give byte-identical webhook bodies.
type History struct {
	Number Number
	Config HistoryConfig // with defaults applied

	Contacts       []Contact
	ContactBodies  [][]byte        // smb_app_state_sync webhooks
	Chunks         []Chunk         // natural order: phase 0, 1, 2; chunk_order ascending
	MediaFollowUps [][]byte        // history webhooks with value.messages[], sent after the chunks
	DeclinedBody   []byte          // the history webhook sent instead when the business declines
	Messages       []MessageRecord // in the order of the chunks

	byID        map[string]int
	byHistoryID map[string]int
}

// Message returns the record of the message with the given wamid.
func (h *History) Message(wamid string) (MessageRecord, bool) {
	i, ok := h.byID[wamid]
	if !ok {
		return MessageRecord{}, false
	}
	return h.Messages[i], true
}

// MessageByHistoryID returns the outbound message with the given Message-History-ID.
func (h *History) MessageByHistoryID(id string) (MessageRecord, bool) {
	i, ok := h.byHistoryID[id]
	if !ok {
		return MessageRecord{}, false
	}
	return h.Messages[i], true
}

// Threads lists the thread ids (the other parties' numbers) that hold messages, sorted.
func (h *History) Threads() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range h.Messages {
		if !seen[m.Thread] {
			seen[m.Thread] = true
			out = append(out, m.Thread)
		}
	}
	slices.Sort(out)
	return out
}

// ChunkBodies returns the chunk bodies in natural order.
func (h *History) ChunkBodies() [][]byte {
	out := make([][]byte, len(h.Chunks))
	for i, c := range h.Chunks {
		out[i] = c.Body
	}
	return out
}

// thread is one 1:1 chat of the generated history.
type thread struct {
	phone   string
	name    string // first name for greetings; "" for an unsaved number
	english bool
}

// genMessage is a message being generated: its record and its wire form.
type genMessage struct {
	rec    MessageRecord
	wire   wireMessage
	serial int
	rank   int        // the thread's place when ordering a phase: most recently active first
	media  *wireMedia // the follow-up content of a media_placeholder
}

type generator struct {
	rng    *rand.Rand
	n      Number
	cfg    HistoryConfig
	now    int64
	serial int
	phones phoneBook
}

// Generate builds the history of n. It is deterministic: the same inputs give byte-identical
// bodies. Different numbers get different contacts and messages for the same seed.
func Generate(n Number, cfg HistoryConfig) (*History, error) {
	if strings.TrimSpace(n.PhoneNumberID) == "" {
		return nil, fmt.Errorf("generate history: the phone number id is empty")
	}
	n = n.withDefaults()
	cfg = cfg.withDefaults()
	g := &generator{
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), hash64("history", n.PhoneNumberID))),
		n:      n,
		cfg:    cfg,
		now:    cfg.Now.Unix(),
		phones: phoneBook{n.DisplayPhoneNumber: true},
	}
	h := &History{Number: n, Config: cfg, byID: make(map[string]int, cfg.Messages), byHistoryID: make(map[string]int, cfg.Messages/2)}

	h.Contacts = g.contacts(cfg.Contacts)
	threads := g.threads(h.Contacts)
	msgs := g.messages(threads, cfg.Messages)
	plant(msgs)

	var err error
	if h.ContactBodies, err = g.contactBodies(h.Contacts); err != nil {
		return nil, err
	}
	if err := g.chunks(h, threads, msgs); err != nil {
		return nil, err
	}
	if h.MediaFollowUps, err = g.followUps(h, msgs); err != nil {
		return nil, err
	}
	if h.DeclinedBody, err = g.declined(); err != nil {
		return nil, err
	}
	return h, nil
}

// contacts makes count address-book entries: mostly Brazilian numbers, some foreign ones.
func (g *generator) contacts(count int) []Contact {
	br, foreign, suffixes := brazilianNames(), foreignNames(), nameSuffixes()
	out := make([]Contact, 0, count)
	for range count {
		english := g.rng.IntN(100) < 15
		names := br
		if english {
			names = foreign
		}
		first := pick(g.rng, names.first)
		full := first + " " + pick(g.rng, names.last)
		if g.rng.IntN(100) < 10 {
			full += pick(g.rng, suffixes)
		}
		out = append(out, Contact{PhoneNumber: g.phones.draw(g.rng, english), FullName: full, FirstName: first})
	}
	return out
}

// threads is one chat per contact plus about one unsaved number per ten contacts (at least
// one thread in all), in a seeded order that ranks how busy each chat is.
func (g *generator) threads(contacts []Contact) []thread {
	out := make([]thread, 0, len(contacts)+len(contacts)/10+1)
	for _, c := range contacts {
		out = append(out, thread{phone: c.PhoneNumber, name: c.FirstName, english: !strings.HasPrefix(c.PhoneNumber, "55")})
	}
	unsaved := (len(contacts) + 9) / 10
	if unsaved == 0 {
		unsaved = 1
	}
	for range unsaved {
		foreign := g.rng.IntN(100) < 15
		out = append(out, thread{phone: g.phones.draw(g.rng, foreign), english: foreign})
	}
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// messages generates count messages as conversations: a few to a dozen messages close in
// time, in a thread picked with a skewed weight so that some chats are much longer.
func (g *generator) messages(threads []thread, count int) []*genMessage {
	weights := make([]float64, len(threads))
	total := 0.0
	for i := range threads {
		total += 1 / float64(i+1)
		weights[i] = total
	}
	pt, en := portugueseTexts(), englishTexts()
	var out []*genMessage
	perThread := map[int][]*genMessage{}
	for len(out) < count {
		ti, _ := slices.BinarySearch(weights, g.rng.Float64()*total)
		ti = min(ti, len(threads)-1)
		t := threads[ti]
		texts := pt
		if t.english {
			texts = en
		}
		length := min(2+g.rng.IntN(10), count-len(out))
		gaps := make([]int64, length)
		var span int64
		for i := 1; i < length; i++ {
			gaps[i] = drawGap(g.rng)
			span += gaps[i]
		}
		// About 6% of the conversations in phase 0, 60% in phase 1 and 34% in phase 2.
		lo, hi := drawWindow(g.rng, g.now, 6, 60)
		start := lo + g.rng.Int64N(max(1, hi-lo-span))
		ts := start
		outbound := g.rng.IntN(100) < 30
		for i := range length {
			ts += gaps[i]
			if i > 0 && g.rng.IntN(100) < 60 {
				outbound = !outbound
			}
			m := g.message(t, texts, outbound, min(ts, g.now-1), perThread[ti])
			perThread[ti] = append(perThread[ti], m)
			out = append(out, m)
		}
	}
	return out
}

// message makes one message of thread t; earlier holds the thread's messages so far.
func (g *generator) message(t thread, texts textSet, outbound bool, ts int64, earlier []*genMessage) *genMessage {
	g.serial++
	m := &genMessage{serial: g.serial}
	from := t.phone
	if outbound {
		from = g.n.DisplayPhoneNumber
	}
	id := wamid(t.phone, outbound, g.serial, g.rng.Uint32())
	m.rec = MessageRecord{ID: id, Thread: t.phone, From: from, Outbound: outbound, Timestamp: ts}
	m.wire = wireMessage{From: from, ID: id, Timestamp: strconv.FormatInt(ts, 10)}

	// A reaction points to one of the last few messages of the thread sent before it.
	var targets []*genMessage
	for i := len(earlier) - 1; i >= max(0, len(earlier)-50) && len(targets) < 5; i-- {
		if earlier[i].rec.Timestamp <= ts && earlier[i].rec.Type != "reaction" {
			targets = append(targets, earlier[i])
		}
	}
	kind := g.rng.IntN(100)
	if kind >= 83 && kind < 90 && len(targets) == 0 {
		kind = 0 // nothing to react to yet
	}
	switch {
	case kind < 75:
		lines := texts.inbound
		if outbound {
			lines = texts.outbound
		}
		body := fillText(g.rng, pick(g.rng, lines), t.name)
		m.rec.Type, m.rec.Text = "text", body
		m.wire.Type, m.wire.Text = "text", &wireText{Body: body}
	case kind < 83:
		m.rec.Type = "media_placeholder"
		m.wire.Type = "media_placeholder"
		m.media = g.media(m)
	case kind < 90:
		target := pick(g.rng, targets)
		emoji := pick(g.rng, reactionEmojis())
		m.rec.Type, m.rec.ReactionTo, m.rec.Text = "reaction", target.rec.ID, emoji
		m.wire.Type, m.wire.Reaction = "reaction", &wireReaction{MessageID: target.rec.ID, Emoji: emoji}
	default:
		p := pick(g.rng, places())
		m.rec.Type, m.rec.Text = "location", p.name
		m.wire.Type = "location"
		m.wire.Location = &wireLocation{Latitude: p.lat, Longitude: p.lng, Name: p.name, Address: p.address}
	}
	m.rec.Status = drawStatus(g.rng, outbound, m.rec.MediaType == "audio")
	m.wire.HistoryContext = &historyContext{Status: m.rec.Status, FromMe: outbound}
	if outbound {
		m.rec.HistoryID = strconv.FormatUint(1e15+hash64("history-id", id)%9e15, 10)
	}
	return m
}

// media decides the real content behind a media placeholder.
func (g *generator) media(m *genMessage) *wireMedia {
	sum := sha256.Sum256([]byte("media:" + m.rec.ID))
	md := &wireMedia{SHA256: hex.EncodeToString(sum[:]), ID: strconv.FormatUint(1e15+hash64("media-id", m.rec.ID)%9e15, 10)}
	switch r := g.rng.IntN(100); {
	case r < 55:
		m.rec.MediaType = "image"
		md.MimeType = "image/jpeg"
		md.Caption = pick(g.rng, imageCaptions())
	case r < 85:
		m.rec.MediaType = "audio"
		md.MimeType = "audio/ogg; codecs=opus"
		md.Voice = true
	default:
		m.rec.MediaType = "document"
		md.MimeType = "application/pdf"
		md.Filename = fillText(g.rng, pick(g.rng, documentNames()), "")
		if g.rng.IntN(2) == 0 {
			md.Caption = "segue o arquivo"
		}
	}
	m.rec.Text = md.Caption
	return md
}

// plant puts the fixed search and escaping texts into text messages at fixed positions.
func plant(msgs []*genMessage) {
	var texts []*genMessage
	for _, m := range msgs {
		if m.rec.Type == "text" {
			texts = append(texts, m)
		}
	}
	if len(texts) == 0 {
		return
	}
	set := func(m *genMessage, body string) {
		m.rec.Text = body
		m.wire.Text = &wireText{Body: body}
	}
	set(texts[len(texts)/2], rareText)
	if len(texts) >= 3 {
		set(texts[len(texts)/2-1], HTMLText)
		set(texts[len(texts)/2+1], ScriptText)
	}
}

// contactBodies renders the smb_app_state_sync webhooks of the contact sync.
func (g *generator) contactBodies(contacts []Contact) ([][]byte, error) {
	ts := strconv.FormatInt(g.now+45, 10)
	var out [][]byte
	for start := 0; start < len(contacts); start += ContactsPerWebhook {
		part := contacts[start:min(start+ContactsPerWebhook, len(contacts))]
		items := make([]stateSyncItem, len(part))
		for i, c := range part {
			items[i] = stateSyncItem{
				Type:     "contact",
				Contact:  wireContact{FullName: c.FullName, FirstName: c.FirstName, PhoneNumber: c.PhoneNumber},
				Action:   "add",
				Metadata: stateSyncMetadata{Timestamp: ts},
			}
		}
		body, err := encodeWebhook(envelope(g.n, "smb_app_state_sync", webhookValue{StateSync: items}))
		if err != nil {
			return nil, fmt.Errorf("contacts webhook: %w", err)
		}
		out = append(out, body)
	}
	return out, nil
}

// chunks cuts each phase into chunks of ChunkSize messages. Within a phase, threads come
// most recently active first and messages in time order, so a long thread spans chunks and
// a chunk holds several threads. Progress is the share of messages sent so far.
func (g *generator) chunks(h *History, threads []thread, msgs []*genMessage) error {
	latest := map[string]int64{}
	for _, m := range msgs {
		latest[m.rec.Thread] = max(latest[m.rec.Thread], m.rec.Timestamp)
	}
	rank := map[string]int{}
	order := make([]thread, len(threads))
	copy(order, threads)
	slices.SortStableFunc(order, func(a, b thread) int {
		return cmp.Or(cmp.Compare(latest[b.phone], latest[a.phone]), strings.Compare(a.phone, b.phone))
	})
	for i, t := range order {
		rank[t.phone] = i
	}
	byPhase := make([][]*genMessage, 3)
	for _, m := range msgs {
		m.rank = rank[m.rec.Thread]
		m.rec.Phase = phaseOf(g.now, m.rec.Timestamp)
		byPhase[m.rec.Phase] = append(byPhase[m.rec.Phase], m)
	}
	total, sent := len(msgs), 0
	var items threadList
	for phase, list := range byPhase {
		slices.SortFunc(list, func(a, b *genMessage) int {
			return cmp.Or(cmp.Compare(a.rank, b.rank),
				cmp.Compare(a.rec.Timestamp, b.rec.Timestamp), cmp.Compare(a.serial, b.serial))
		})
		for start, order := 0, 1; start < len(list); start, order = start+g.cfg.ChunkSize, order+1 {
			part := list[start:min(start+g.cfg.ChunkSize, len(list))]
			sent += len(part)
			progress := sent * 100 / total
			items.reset()
			for _, m := range part {
				m.rec.ChunkOrder = order
				items.add(m.rec.Thread, &m.wire)
				h.byID[m.rec.ID] = len(h.Messages)
				if m.rec.HistoryID != "" {
					h.byHistoryID[m.rec.HistoryID] = len(h.Messages)
				}
				m.rec.FollowUp = m.media != nil && g.now-m.rec.Timestamp <= int64(MediaFollowUpWindow/time.Second)
				h.Messages = append(h.Messages, m.rec)
			}
			body, err := historyChunk(g.n, chunkMetadata{Phase: phase, ChunkOrder: order, Progress: progress}, &items)
			if err != nil {
				return err
			}
			h.Chunks = append(h.Chunks, Chunk{Phase: phase, Order: order, Progress: progress, Threads: items.threads, Messages: len(part), Body: body})
		}
	}
	return nil
}

// followUps renders the media follow-ups of the placeholders of the last 14 days, in the
// order of the chunks, FollowUpsPerWebhook to a body.
func (g *generator) followUps(h *History, msgs []*genMessage) ([][]byte, error) {
	media := map[string]*wireMedia{}
	for _, m := range msgs {
		if m.media != nil {
			media[m.rec.ID] = m.media
		}
	}
	var batch []wireMessage
	var out [][]byte
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		body, err := encodeWebhook(envelope(g.n, "history", webhookValue{Messages: batch}))
		if err != nil {
			return fmt.Errorf("media follow-up: %w", err)
		}
		out = append(out, body)
		batch = nil
		return nil
	}
	for _, r := range h.Messages {
		if !r.FollowUp {
			continue
		}
		wm := wireMessage{From: r.From, ID: r.ID, Timestamp: strconv.FormatInt(r.Timestamp, 10), Type: r.MediaType}
		md := media[r.ID]
		switch r.MediaType {
		case "image":
			wm.Image = md
		case "audio":
			wm.Audio = md
		default:
			wm.Document = md
		}
		batch = append(batch, wm)
		if len(batch) == FollowUpsPerWebhook {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// declined renders the history webhook of a business that declined to share its history.
func (g *generator) declined() ([]byte, error) {
	item := historyItem{Errors: []historyError{{
		Code:      CodeHistoryDeclined,
		Title:     "History sync turned off by the business in the WhatsApp Business app",
		Message:   "History sync turned off by the business in the WhatsApp Business app",
		ErrorData: errorDataBlock{Details: "The business chose not to share chat history"},
	}}}
	body, err := encodeWebhook(envelope(g.n, "history", webhookValue{History: []historyItem{item}}))
	if err != nil {
		return nil, fmt.Errorf("declined webhook: %w", err)
	}
	return body, nil
}

// hash64 mixes strings into a stable 64-bit value.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
