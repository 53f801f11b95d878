package sim

import (
	"cmp"
	"fmt"
	randv1 "math/rand"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// HistorySpec describes a generated history sync of one business number, as Meta sends it:
// history webhooks of one chunk each, phase 0 (the last day), then phase 1 (days 1–90),
// then phase 2 (days 90–180), chunk_order counted from 1 within each phase, progress
// rising to 100 on the last chunk. Its payloads are encoded like Generate's (wire.go); only
// the mix differs: no contacts webhooks, no media follow-ups, and much of the Portuguese
// text comes from the search corpus's vocabulary.
type HistorySpec struct {
	Messages           int   // messages in all
	Threads            int   // chats, one contact each; default Messages/50
	BodyBytes          int   // mean webhook body size; each body's size is drawn from half to 1.5 times it
	Seed               int64 // the same spec and seed give the same bodies
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string
	Onboarded          int64 // day 0 in unix seconds: the history reaches 180 days back from it
}

// ChunkInfo describes one generated history webhook.
type ChunkInfo struct {
	Phase      int
	ChunkOrder int
	Progress   int
	Threads    int // thread items in the chunk (a long chat spans chunks)
	Messages   int
}

// streamThread is one chat of a generated history. Its message times come from a random
// stream of its own, so they can be drawn again for each phase instead of being kept.
type streamThread struct {
	index    int
	contact  string
	english  bool
	count    int
	perPhase [3]int
	latest   int64
}

// threadMsg is the time and direction of one message of a thread.
type threadMsg struct {
	ts       int64
	outbound bool
}

// HistoryStream generates the webhook bodies of a HistorySpec one at a time; it holds one
// body and a few bytes per thread, whatever the size of the history.
type HistoryStream struct {
	spec    HistorySpec
	number  Number
	threads []streamThread   // most recently active first, as Meta orders them within a phase
	rng     *rand.Rand       // message content, drawn in the order the messages are written
	words   *CorpusGenerator // Portuguese text from the search corpus's vocabulary

	portuguese, english textSet
	emojis              []string
	places              []place

	phase   int
	rank    int // next thread (index into threads) to write in this phase
	cur     *streamThread
	pending []threadMsg // the current thread's messages of this phase still to write
	order   [3]int      // chunks written per phase
	sent    int
	serial  int
	recent  []string // the current thread's latest wamids: what a reaction can point to
	reacted int      // reactions written so far

	times []threadMsg
	items threadList // the threads of the chunk being written
}

// NewHistoryStream prepares the stream: it draws every thread's size and message times once
// (to know which phases each thread has and how recently it was active).
func NewHistoryStream(spec HistorySpec) (*HistoryStream, error) {
	if spec.Messages <= 0 {
		return nil, fmt.Errorf("history: %d messages", spec.Messages)
	}
	if spec.Threads <= 0 {
		spec.Threads = max(1, spec.Messages/50)
	}
	spec.Threads = min(spec.Threads, spec.Messages)
	if spec.BodyBytes <= 0 {
		spec.BodyBytes = 2 << 20
	}
	if spec.PhoneNumberID == "" || spec.DisplayPhoneNumber == "" {
		return nil, fmt.Errorf("history: phone_number_id and display_phone_number are required")
	}
	s := &HistoryStream{
		spec:       spec,
		number:     Number{PhoneNumberID: spec.PhoneNumberID, DisplayPhoneNumber: spec.DisplayPhoneNumber, WABAID: spec.WABAID},
		rng:        rand.New(rand.NewPCG(uint64(spec.Seed), 0x5eed)),
		words:      newCorpusGenerator(Corpus{Messages: spec.Messages, Threads: spec.Threads, Numbers: 1, Seed: spec.Seed}),
		portuguese: portugueseTexts(),
		english:    englishTexts(),
		emojis:     reactionEmojis(),
		places:     places(),
	}
	sizes := threadSizes(spec.Messages, spec.Threads, randv1.New(randv1.NewSource(spec.Seed)))
	contacts := rand.New(rand.NewPCG(uint64(spec.Seed), 0xc0ffee))
	taken := make(phoneBook, spec.Threads+1)
	taken[spec.DisplayPhoneNumber] = true
	s.threads = make([]streamThread, spec.Threads)
	for i := range s.threads {
		t := &s.threads[i]
		t.index, t.count = i, sizes[i]
		t.english = contacts.IntN(100) < 15
		t.contact = taken.draw(contacts, t.english)
		for _, m := range s.threadTimes(t) {
			t.perPhase[phaseOf(spec.Onboarded, m.ts)]++
			t.latest = max(t.latest, m.ts)
		}
	}
	slices.SortFunc(s.threads, func(a, b streamThread) int {
		return cmp.Or(cmp.Compare(b.latest, a.latest), strings.Compare(a.contact, b.contact))
	})
	return s, nil
}

// Spec returns the spec with its defaults filled in.
func (s *HistoryStream) Spec() HistorySpec { return s.spec }

// Reactions is how many of the messages written so far are reactions. Each reacts to a
// message written before it, so once the whole stream is stored none is a listed item:
// the threads then count Messages - Reactions.
func (s *HistoryStream) Reactions() int { return s.reacted }

// threadTimes draws the times and directions of a thread's messages, in time order: a
// chat is a series of conversations of one to a dozen messages close in time, placed about
// 2% in the last day, 56% in days 1–90 and 42% in days 90–180.
func (s *HistoryStream) threadTimes(t *streamThread) []threadMsg {
	rng := rand.New(rand.NewPCG(uint64(s.spec.Seed), uint64(t.index)+1))
	day0 := s.spec.Onboarded
	out := s.times[:0]
	var rel [12]int64
	for len(out) < t.count {
		length := min(1+rng.IntN(12), t.count-len(out))
		span := int64(0)
		for i := 1; i < length; i++ {
			span += drawGap(rng)
			rel[i] = span
		}
		lo, hi := drawWindow(rng, day0, 2, 56)
		start := lo + rng.Int64N(max(1, hi-lo-span))
		outbound := rng.IntN(100) < 30
		for i := range length {
			if i > 0 && rng.IntN(100) < 60 {
				outbound = !outbound
			}
			out = append(out, threadMsg{ts: min(start+rel[i], day0-1), outbound: outbound})
		}
	}
	slices.SortStableFunc(out, func(a, b threadMsg) int { return cmp.Compare(a.ts, b.ts) })
	s.times = out
	return out
}

// nextThread moves to the next thread with messages in the current phase.
func (s *HistoryStream) nextThread() bool {
	for s.rank < len(s.threads) {
		t := &s.threads[s.rank]
		s.rank++
		if t.perPhase[s.phase] == 0 {
			continue
		}
		all := s.threadTimes(t)
		s.pending = s.pending[:0]
		for _, m := range all {
			if phaseOf(s.spec.Onboarded, m.ts) == s.phase {
				s.pending = append(s.pending, m)
			}
		}
		s.cur, s.recent = t, s.recent[:0]
		return true
	}
	return false
}

// Next returns the next webhook body and what it holds, or ok=false after the last one.
func (s *HistoryStream) Next() (body []byte, info ChunkInfo, ok bool) {
	if s.phase > 2 {
		return nil, ChunkInfo{}, false
	}
	target := s.spec.BodyBytes/2 + s.rng.IntN(s.spec.BodyBytes+1)
	s.items.reset()
	for {
		if len(s.pending) == 0 {
			if !s.nextThread() {
				if s.items.messages > 0 {
					break // the phase ends with this chunk
				}
				s.phase, s.rank = s.phase+1, 0
				if s.phase > 2 {
					return nil, ChunkInfo{}, false
				}
				continue
			}
		}
		m := s.pending[0]
		s.pending = s.pending[1:]
		wm := s.message(s.cur, m)
		s.items.add(s.cur.contact, &wm)
		if s.items.size()+envelopeBytes >= target {
			break
		}
	}
	info.Threads, info.Messages = s.items.threads, s.items.messages
	s.sent += info.Messages
	s.order[s.phase]++
	info.Phase, info.ChunkOrder, info.Progress = s.phase, s.order[s.phase], s.sent*100/s.spec.Messages
	body, err := historyChunk(s.number, chunkMetadata{Phase: info.Phase, ChunkOrder: info.ChunkOrder, Progress: info.Progress}, &s.items)
	if err != nil {
		panic(err) // a message of fixed shape cannot fail to encode
	}
	return body, info, true
}

// envelopeBytes is about what the envelope adds to the threads of a chunk.
const envelopeBytes = 300

// message makes one history message of thread t as Meta sends it: its type's object, and
// history_context with the delivery status (and from_me for the business's messages).
func (s *HistoryStream) message(t *streamThread, m threadMsg) wireMessage {
	s.serial++
	rng := s.rng
	id := wamid(t.contact, m.outbound, s.serial, rng.Uint32())
	from := t.contact
	if m.outbound {
		from = s.spec.DisplayPhoneNumber
	}
	wm := wireMessage{From: from, ID: id, Timestamp: strconv.FormatInt(m.ts, 10)}
	kind := rng.IntN(100)
	if kind >= 86 && kind < 93 && len(s.recent) == 0 {
		kind = 0 // nothing to react to yet
	}
	audio := false
	switch {
	case kind < 76:
		wm.Type, wm.Text = "text", &wireText{Body: s.text(t, m.outbound)}
	case kind < 86:
		wm.Type = "media_placeholder"
		audio = rng.IntN(100) < 30
	case kind < 93:
		wm.Type = "reaction"
		wm.Reaction = &wireReaction{MessageID: pick(rng, s.recent), Emoji: pick(rng, s.emojis)}
		s.reacted++
	default:
		p := pick(rng, s.places)
		wm.Type = "location"
		wm.Location = &wireLocation{Latitude: p.lat, Longitude: p.lng, Name: p.name, Address: p.address}
	}
	wm.HistoryContext = &historyContext{Status: drawStatus(rng, m.outbound, audio), FromMe: m.outbound}
	if wm.Type != "reaction" { // something later messages can react to
		if len(s.recent) == 5 {
			copy(s.recent, s.recent[1:])
			s.recent = s.recent[:4]
		}
		s.recent = append(s.recent, id)
	}
	return wm
}

// text writes a message body: the chats in English and 40% of the Portuguese messages use
// the simulator's support phrases; the other Portuguese ones are drawn from the search
// corpus's vocabulary.
func (s *HistoryStream) text(t *streamThread, outbound bool) string {
	rng := s.rng
	if t.english || rng.IntN(100) < 40 {
		texts := s.portuguese
		if t.english {
			texts = s.english
		}
		lines := texts.inbound
		if outbound {
			lines = texts.outbound
		}
		return fillText(rng, pick(rng, lines), "")
	}
	return s.words.text(s.serial)
}
