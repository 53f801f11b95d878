package sim

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HistorySpec describes a generated history sync of one business number, as Meta sends it:
// history webhooks of one chunk each, phase 0 (the last day), then phase 1 (days 1–90),
// then phase 2 (days 90–180), chunk_order counted from 1 within each phase, progress
// rising to 100 on the last chunk.
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

// Phase windows, counted back from onboarding.
const (
	daySecs     = int64(24 * 3600)
	phase1Start = daySecs      // phase 0 is the last day
	phase2Start = 90 * daySecs // phase 1 reaches 90 days back
	historySecs = 180 * daySecs
)

// historyPhase returns the phase of a message sent at ts.
func historyPhase(onboarded, ts int64) int {
	switch age := onboarded - ts; {
	case age < phase1Start:
		return 0
	case age < phase2Start:
		return 1
	default:
		return 2
	}
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
	threads []streamThread   // most recently active first, as Meta orders them within a phase
	rng     *randv2.Rand     // message content, drawn in the order the messages are written
	words   *CorpusGenerator // Portuguese text from the search corpus's vocabulary

	phase   int
	rank    int // next thread (index into threads) to write in this phase
	cur     *streamThread
	pending []threadMsg // the current thread's messages of this phase still to write
	order   [3]int      // chunks written per phase
	sent    int
	serial  int
	recent  []string // the current thread's latest wamids: what a reaction can point to

	times    []threadMsg
	threadsB []byte // the "threads" array of the chunk being written
	body     []byte
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
		spec:  spec,
		rng:   randv2.New(randv2.NewPCG(uint64(spec.Seed), 0x5eed)),
		words: newCorpusGenerator(Corpus{Messages: spec.Messages, Threads: spec.Threads, Numbers: 1, Seed: spec.Seed}),
	}
	sizes := threadSizes(spec.Messages, spec.Threads, rand.New(rand.NewSource(spec.Seed)))
	contacts := randv2.New(randv2.NewPCG(uint64(spec.Seed), 0xc0ffee))
	taken := make(map[string]bool, spec.Threads)
	s.threads = make([]streamThread, spec.Threads)
	for i := range s.threads {
		t := &s.threads[i]
		t.index, t.count = i, sizes[i]
		t.english = contacts.IntN(100) < 15
		for t.contact == "" || taken[t.contact] {
			t.contact = contactNumber(contacts, t.english)
		}
		taken[t.contact] = true
		for _, m := range s.threadTimes(t) {
			t.perPhase[historyPhase(spec.Onboarded, m.ts)]++
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

// contactNumber draws a WhatsApp id: Brazilian mobiles, and foreign numbers for the chats in
// English.
func contactNumber(rng *randv2.Rand, foreign bool) string {
	if !foreign {
		return fmt.Sprintf("55%02d9%08d", 11+rng.IntN(89), rng.IntN(100000000))
	}
	switch rng.IntN(3) {
	case 0:
		return fmt.Sprintf("1%03d%07d", 201+rng.IntN(700), rng.IntN(10000000))
	case 1:
		return fmt.Sprintf("447%09d", rng.IntN(1000000000))
	default:
		return fmt.Sprintf("3519%08d", rng.IntN(100000000))
	}
}

// threadTimes draws the times and directions of a thread's messages, in time order: a
// chat is a series of conversations of one to a dozen messages close in time, placed about
// 2% in the last day, 56% in days 1–90 and 42% in days 90–180.
func (s *HistoryStream) threadTimes(t *streamThread) []threadMsg {
	rng := randv2.New(randv2.NewPCG(uint64(s.spec.Seed), uint64(t.index)+1))
	day0 := s.spec.Onboarded
	out := s.times[:0]
	var rel [12]int64
	for len(out) < t.count {
		length := min(1+rng.IntN(12), t.count-len(out))
		span := int64(0)
		for i := 1; i < length; i++ {
			switch r := rng.IntN(100); {
			case r < 8: // same second
			case r < 13:
				span += 3600 + rng.Int64N(5*3600)
			default:
				span += 5 + rng.Int64N(20*60)
			}
			rel[i] = span
		}
		var lo, hi int64
		switch r := rng.IntN(100); {
		case r < 2:
			lo, hi = day0-phase1Start, day0
		case r < 58:
			lo, hi = day0-phase2Start, day0-phase1Start
		default:
			lo, hi = day0-historySecs, day0-phase2Start
		}
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
			if historyPhase(s.spec.Onboarded, m.ts) == s.phase {
				s.pending = append(s.pending, m)
			}
		}
		s.cur, s.recent = t, s.recent[:0]
		return true
	}
	return false
}

// Next returns the next webhook body and what it holds, or ok=false after the last one.
// The body is valid until the next call.
func (s *HistoryStream) Next() (body []byte, info ChunkInfo, ok bool) {
	if s.phase > 2 {
		return nil, ChunkInfo{}, false
	}
	target := s.spec.BodyBytes/2 + s.rng.IntN(s.spec.BodyBytes+1)
	s.threadsB = s.threadsB[:0]
	var thread *streamThread
	for {
		if len(s.pending) == 0 {
			if !s.nextThread() {
				if info.Messages > 0 {
					break // the phase ends with this chunk
				}
				s.phase, s.rank = s.phase+1, 0
				if s.phase > 2 {
					return nil, ChunkInfo{}, false
				}
				continue
			}
		}
		if thread != s.cur {
			if thread != nil {
				s.threadsB = append(s.threadsB, "]},"...)
			}
			thread = s.cur
			info.Threads++
			s.threadsB = append(s.threadsB, `{"id":"`...)
			s.threadsB = append(s.threadsB, thread.contact...)
			s.threadsB = append(s.threadsB, `","messages":[`...)
		} else {
			s.threadsB = append(s.threadsB, ',')
		}
		m := s.pending[0]
		s.pending = s.pending[1:]
		s.threadsB = s.appendMessage(s.threadsB, thread, m)
		info.Messages++
		if len(s.threadsB)+envelopeBytes >= target {
			break
		}
	}
	s.threadsB = append(s.threadsB, "]}"...)
	s.sent += info.Messages
	s.order[s.phase]++
	info.Phase, info.ChunkOrder, info.Progress = s.phase, s.order[s.phase], s.sent*100/s.spec.Messages
	s.body = s.appendEnvelope(s.body[:0], info)
	return s.body, info, true
}

// envelopeBytes is about what the envelope adds to the threads of a chunk.
const envelopeBytes = 300

func (s *HistoryStream) appendEnvelope(b []byte, info ChunkInfo) []byte {
	b = append(b, `{"object":"whatsapp_business_account","entry":[{"id":"`...)
	b = append(b, s.spec.WABAID...)
	b = append(b, `","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"`...)
	b = append(b, s.spec.DisplayPhoneNumber...)
	b = append(b, `","phone_number_id":"`...)
	b = append(b, s.spec.PhoneNumberID...)
	b = append(b, `"},"history":[{"metadata":{"phase":`...)
	b = strconv.AppendInt(b, int64(info.Phase), 10)
	b = append(b, `,"chunk_order":`...)
	b = strconv.AppendInt(b, int64(info.ChunkOrder), 10)
	b = append(b, `,"progress":`...)
	b = strconv.AppendInt(b, int64(info.Progress), 10)
	b = append(b, `},"threads":[`...)
	b = append(b, s.threadsB...)
	return append(b, `]}]},"field":"history"}]}]}`...)
}

// appendMessage writes one history message of thread t as Meta does: its type's object,
// and history_context with the delivery status (and from_me for the business's messages).
func (s *HistoryStream) appendMessage(b []byte, t *streamThread, m threadMsg) []byte {
	s.serial++
	rng := s.rng
	wamid := historyWAMID(t.contact, m.outbound, s.serial, rng.Uint32())
	from := t.contact
	if m.outbound {
		from = s.spec.DisplayPhoneNumber
	}
	b = append(b, `{"from":"`...)
	b = append(b, from...)
	b = append(b, `","id":"`...)
	b = append(b, wamid...)
	b = append(b, `","timestamp":"`...)
	b = strconv.AppendInt(b, m.ts, 10)
	b = append(b, `","type":"`...)
	kind := rng.IntN(100)
	if kind >= 86 && kind < 93 && len(s.recent) == 0 {
		kind = 0 // nothing to react to yet
	}
	audio := false
	switch {
	case kind < 76:
		b = append(b, `text","text":{"body":`...)
		b = appendMetaString(b, s.text(t, m.outbound))
		b = append(b, '}')
	case kind < 86:
		b = append(b, `media_placeholder"`...)
		audio = rng.IntN(100) < 30
	case kind < 93:
		b = append(b, `reaction","reaction":{"message_id":"`...)
		b = append(b, s.recent[rng.IntN(len(s.recent))]...)
		b = append(b, `","emoji":`...)
		b = appendMetaString(b, streamEmojis[rng.IntN(len(streamEmojis))])
		b = append(b, '}')
	default:
		p := streamPlaces[rng.IntN(len(streamPlaces))]
		b = append(b, `location","location":{"latitude":`...)
		b = strconv.AppendFloat(b, p.lat+float64(rng.IntN(2000)-1000)/1e5, 'f', 6, 64)
		b = append(b, `,"longitude":`...)
		b = strconv.AppendFloat(b, p.lng+float64(rng.IntN(2000)-1000)/1e5, 'f', 6, 64)
		b = append(b, `,"name":`...)
		b = appendMetaString(b, p.name)
		b = append(b, `,"address":`...)
		b = appendMetaString(b, p.address)
		b = append(b, '}')
	}
	b = append(b, `,"history_context":{"status":"`...)
	b = append(b, historyStatus(rng, m.outbound, audio)...)
	if m.outbound {
		b = append(b, `","from_me":true}}`...)
	} else {
		b = append(b, `"}}`...)
	}
	if kind < 86 || kind >= 93 { // not a reaction: something later messages can react to
		if len(s.recent) == 5 {
			copy(s.recent, s.recent[1:])
			s.recent = s.recent[:4]
		}
		s.recent = append(s.recent, wamid)
	}
	return b
}

// historyStatus draws history_context.status: the business's messages mostly READ, some
// DELIVERED, SENT, PLAYED (voice) or ERROR; the contact's mostly READ. About one in twenty
// comes in lowercase.
func historyStatus(rng *randv2.Rand, outbound, audio bool) string {
	var s string
	switch r := rng.IntN(100); {
	case audio && r < 60:
		s = "PLAYED"
	case !outbound && r < 90:
		s = "READ"
	case !outbound && r < 98:
		s = "DELIVERED"
	case !outbound:
		s = "PENDING"
	case r < 60:
		s = "READ"
	case r < 85:
		s = "DELIVERED"
	case r < 97:
		s = "SENT"
	default:
		s = "ERROR"
	}
	if rng.IntN(100) < 5 {
		s = strings.ToLower(s)
	}
	return s
}

// historyWAMID builds an id shaped like Meta's: base64 of the other party's number, the
// direction and a hex id; the serial inside makes it unique within the history.
func historyWAMID(contact string, outbound bool, serial int, random uint32) string {
	dir := byte(0x12)
	if outbound {
		dir = 0x11
	}
	var inner [20]byte
	copy(inner[:], fmt.Sprintf("3EB0%08X%08X", serial, random))
	b := make([]byte, 0, 64)
	b = append(b, 0x1c, 0x18, byte(len(contact)))
	b = append(b, contact...)
	b = append(b, 0x15, 0x02, 0x00, dir, 0x18, byte(len(inner)))
	b = append(b, inner[:]...)
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

// text writes a message body: Portuguese chats mix support phrases with text drawn from
// the search corpus's vocabulary; the foreign chats are in English.
func (s *HistoryStream) text(t *streamThread, outbound bool) string {
	rng := s.rng
	if t.english {
		lines := englishInbound
		if outbound {
			lines = englishOutbound
		}
		return fillTemplate(rng, lines[rng.IntN(len(lines))])
	}
	if rng.IntN(100) < 40 {
		lines := portugueseInbound
		if outbound {
			lines = portugueseOutbound
		}
		return fillTemplate(rng, lines[rng.IntN(len(lines))])
	}
	return s.words.text(s.serial)
}

// fillTemplate replaces {order}, {hour} and {price}.
func fillTemplate(rng *randv2.Rand, s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	s = strings.ReplaceAll(s, "{order}", strconv.Itoa(1000+rng.IntN(90000)))
	s = strings.ReplaceAll(s, "{hour}", strconv.Itoa(8+rng.IntN(11)))
	return strings.ReplaceAll(s, "{price}", fmt.Sprintf("%d,%02d", 10+rng.IntN(990), rng.IntN(100)))
}

// appendMetaString appends s as a JSON string the way Meta's webhooks write it: every
// non-ASCII character as a \uXXXX escape (surrogate pairs above U+FFFF) and "/" as "\/".
func appendMetaString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
	}
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '/':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r < 0x20:
			b = u(b, r)
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case r > 0xFFFF:
			r -= 0x10000
			b = u(b, 0xD800+(r>>10))
			b = u(b, 0xDC00+(r&0x3FF))
		default:
			b = u(b, r)
		}
	}
	return append(b, '"')
}

var streamEmojis = []string{"👍", "❤️", "😂", "🙏", "😮", "👏", "🎉"}

var streamPlaces = []struct {
	name, address string
	lat, lng      float64
}{
	{"Doces da Vila", "Av. Paulista, 1000 - Bela Vista, São Paulo", -23.561684, -46.655981},
	{"Loja Centro", "Rua XV de Novembro, 250 - Centro, Curitiba", -25.428954, -49.267137},
	{"Retirada Copacabana", "Av. Nossa Senhora de Copacabana, 680 - Rio de Janeiro", -22.967560, -43.186612},
	{"Depósito Savassi", "Rua Pernambuco, 1200 - Savassi, Belo Horizonte", -19.935721, -43.933212},
	{"Ponto de encontro", "Praça da Liberdade - Belo Horizonte", -19.931956, -43.937945},
}

var portugueseInbound = []string{
	"Oi! Vocês ainda têm o bolo de cenoura para sábado?",
	"Bom dia! Qual o horário de funcionamento hoje?",
	"Boa tarde! Gostaria de fazer um orçamento para 50 salgadinhos 🎉",
	"A entrega amanhã é até que horas?",
	"Consegue entregar no Itaim Bibi?",
	"Pode ser no Pix?",
	"Recebi o pedido #{order}, obrigado! 😍",
	"O motoboy já saiu?",
	"Pode separar pra mim? Passo aí às {hour}h",
	"Ainda dá tempo de alterar o pedido #{order}?",
	"Vocês abrem no feriado?",
	"ok",
	"👍",
	"Obrigada!! 🙏",
	"Meu boleto venceu, consegue gerar outro?",
	"Quero trocar o tamanho, ficou pequeno 😕",
	"Qual o código de rastreio do pedido #{order}?",
}

var portugueseOutbound = []string{
	"Olá! Temos sim. Separo um para você?",
	"Bom dia! Hoje abrimos das 8h às 18h ☀️",
	"Seu pedido #{order} foi confirmado ✅",
	"A entrega amanhã sai às {hour}h, tudo bem?",
	"O total ficou R$ {price}. Aceitamos Pix, cartão e dinheiro.",
	"Saiu para entrega! 🛵",
	"Obrigado pela preferência! 😊",
	"Segue o link para pagamento: https://pag.exemplo.com.br/{order}",
	"Prazo de entrega: 3 a 5 dias úteis após a confirmação do pagamento.",
	"Pode nos enviar uma foto da nota fiscal, por favor?",
}

var englishInbound = []string{
	"Hi! Do you ship to Lisbon?",
	"Hello, is the carrot cake still available for Saturday?",
	"Can I pay by card on delivery?",
	"My order #{order} hasn't arrived yet, can you check?",
	"Thanks a lot! 🙌",
	"What time do you open tomorrow?",
	"Could you send me the invoice for order #{order}?",
	"ok thanks",
}

var englishOutbound = []string{
	"Hi! Yes, we ship worldwide. Shipping is {price} EUR.",
	"Your order #{order} is confirmed ✅",
	"We open at {hour}am tomorrow.",
	"Here is your tracking link: https://track.example.com/{order}",
	"Sorry for the delay, it leaves today!",
	"Thank you for your purchase 😊",
}
