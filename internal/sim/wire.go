package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// The types below encode Meta's webhook and Graph API shapes. They are written here on
// purpose instead of reusing the application's parser types: an independent encoder is a
// better test of that parser. It is the one encoder of every fabricated Meta payload: the
// generated histories, the streamed history of the ingest benchmark (which writes its
// chunks with threadList) and the simulator's API answers.

type webhookEnvelope struct {
	Object string         `json:"object"`
	Entry  []webhookEntry `json:"entry"`
}

type webhookEntry struct {
	ID      string          `json:"id"`
	Changes []webhookChange `json:"changes"`
}

type webhookChange struct {
	Field string       `json:"field"`
	Value webhookValue `json:"value"`
}

type webhookValue struct {
	MessagingProduct string          `json:"messaging_product"`
	Metadata         valueMetadata   `json:"metadata"`
	History          []historyItem   `json:"history,omitempty"`
	Messages         []wireMessage   `json:"messages,omitempty"`
	StateSync        []stateSyncItem `json:"state_sync,omitempty"`
}

type valueMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type historyItem struct {
	Metadata *chunkMetadata  `json:"metadata,omitempty"`
	Threads  json.RawMessage `json:"threads,omitempty"` // written by threadList
	Errors   []historyError  `json:"errors,omitempty"`
}

type chunkMetadata struct {
	Phase      int `json:"phase"`
	ChunkOrder int `json:"chunk_order"`
	Progress   int `json:"progress"`
}

type historyError struct {
	Code      int            `json:"code"`
	Title     string         `json:"title"`
	Message   string         `json:"message"`
	ErrorData errorDataBlock `json:"error_data"`
}

type errorDataBlock struct {
	Details string `json:"details"`
}

type wireMessage struct {
	From           string          `json:"from"`
	To             string          `json:"to,omitempty"`
	ID             string          `json:"id"`
	Timestamp      string          `json:"timestamp"`
	Type           string          `json:"type"`
	Text           *wireText       `json:"text,omitempty"`
	Reaction       *wireReaction   `json:"reaction,omitempty"`
	Location       *wireLocation   `json:"location,omitempty"`
	Image          *wireMedia      `json:"image,omitempty"`
	Audio          *wireMedia      `json:"audio,omitempty"`
	Document       *wireMedia      `json:"document,omitempty"`
	HistoryContext *historyContext `json:"history_context,omitempty"`
}

// The json tags of wireMessage and of the types it holds document the shape; the encoding
// itself is appendJSON, which writes what encoding/json would, escaped as encodeWebhook
// escapes (so that a history of any size can be written message by message).

type wireText struct {
	Body string `json:"body"`
}

type wireReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type wireLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

type wireMedia struct {
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	ID       string `json:"id"`
	Voice    bool   `json:"voice,omitempty"`
}

type historyContext struct {
	Status string `json:"status"`
	FromMe bool   `json:"from_me,omitempty"`
}

type stateSyncItem struct {
	Type     string            `json:"type"`
	Contact  wireContact       `json:"contact"`
	Action   string            `json:"action"`
	Metadata stateSyncMetadata `json:"metadata"`
}

type wireContact struct {
	FullName    string `json:"full_name,omitempty"`
	FirstName   string `json:"first_name,omitempty"`
	PhoneNumber string `json:"phone_number"`
}

type stateSyncMetadata struct {
	Timestamp string `json:"timestamp"`
}

// graphErrorBody is Meta's GraphAPIError answer.
type graphErrorBody struct {
	Error graphError `json:"error"`
}

type graphError struct {
	Message        string          `json:"message"`
	Type           string          `json:"type"`
	Code           int             `json:"code"`
	ErrorSubcode   int             `json:"error_subcode,omitempty"`
	IsTransient    bool            `json:"is_transient,omitempty"`
	ErrorUserTitle string          `json:"error_user_title,omitempty"`
	ErrorUserMsg   string          `json:"error_user_msg,omitempty"`
	ErrorData      *graphErrorData `json:"error_data,omitempty"`
	FBTraceID      string          `json:"fbtrace_id"`
}

type graphErrorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

// Message History API answers.

type historyIDPage struct {
	Data   []historyIDRow `json:"data"`
	Paging *paging        `json:"paging,omitempty"`
}

type historyIDRow struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
}

type eventsPage struct {
	Data   []eventEdge `json:"data"`
	Paging *paging     `json:"paging,omitempty"`
}

type eventEdge struct {
	Cursor string    `json:"cursor"`
	Node   eventNode `json:"node"`
}

type eventNode struct {
	ID                  string    `json:"id"`
	DeliveryStatus      string    `json:"delivery_status"`
	ErrorDescription    string    `json:"error_description,omitempty"`
	OccurrenceTimestamp int64     `json:"occurrence_timestamp"`
	StatusTimestamp     int64     `json:"status_timestamp,omitempty"`
	Application         *eventApp `json:"application,omitempty"`
	WebhookUpdateState  string    `json:"webhook_update_state,omitempty"`
	WebhookURI          string    `json:"webhook_uri,omitempty"`
}

type eventApp struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type paging struct {
	Cursors  pagingCursors `json:"cursors"`
	Previous string        `json:"previous,omitempty"`
	Next     string        `json:"next,omitempty"`
}

type pagingCursors struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// encodeWebhook renders v the way Meta's webhooks are written: compact JSON, HTML
// characters left as they are, every non-ASCII character as a \uXXXX escape (surrogate
// pairs above U+FFFF) and "/" as "\/".
func encodeWebhook(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode webhook: %w", err)
	}
	return metaEscape(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// metaEscape rewrites compact JSON produced by encoding/json: outside strings that output
// holds neither non-ASCII bytes nor "/", so every occurrence is inside a string value and
// can be escaped without parsing. Escape sequences are copied as they are, so JSON that is
// already escaped this way (what appendJSON writes) passes unchanged.
func metaEscape(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		c := b[0]
		switch {
		case c == '\\' && len(b) > 1:
			out = append(out, c, b[1])
			b = b[2:]
		case c == '/':
			out = append(out, '\\', '/')
			b = b[1:]
		case c < utf8.RuneSelf:
			out = append(out, c)
			b = b[1:]
		default:
			r, size := utf8.DecodeRune(b)
			b = b[size:]
			out = appendMetaRune(out, r)
		}
	}
	return out
}

// appendMetaString appends s as a JSON string the way encodeWebhook writes it: what
// encoding/json writes without HTML escaping, then "/" as "\/" and every non-ASCII
// character as \uXXXX.
func appendMetaString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '/':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = appendUnicodeEscape(b, rune(c))
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		b = appendMetaRune(b, r) // an invalid byte is U+FFFD, as encoding/json writes it
	}
	return append(b, '"')
}

// appendMetaRune appends the \uXXXX escape of a non-ASCII rune, as a surrogate pair above
// U+FFFF.
func appendMetaRune(b []byte, r rune) []byte {
	if r > 0xFFFF {
		r -= 0x10000
		b = appendUnicodeEscape(b, 0xD800+(r>>10))
		return appendUnicodeEscape(b, 0xDC00+(r&0x3FF))
	}
	return appendUnicodeEscape(b, r)
}

// appendUnicodeEscape appends \uXXXX (lowercase hex) for a rune of at most 0xFFFF.
func appendUnicodeEscape(out []byte, r rune) []byte {
	const hexDigits = "0123456789abcdef"
	return append(out, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

// appendFloat appends f as encoding/json writes it.
func appendFloat(b []byte, f float64) []byte {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		e, _ := json.Marshal(f)
		return append(b, e...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// MarshalJSON makes encoding/json write m with appendJSON (encodeWebhook's escaping
// leaves it unchanged).
func (m wireMessage) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

// appendJSON appends m as encodeWebhook writes it, fields in the order of wireMessage.
func (m *wireMessage) appendJSON(b []byte) []byte {
	field := func(b []byte, name string) []byte {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		return append(b, '"', ':')
	}
	str := func(b []byte, name, v string) []byte { return appendMetaString(field(b, name), v) }
	optional := func(b []byte, name, v string) []byte {
		if v == "" {
			return b
		}
		return str(b, name, v)
	}
	media := func(b []byte, name string, md *wireMedia) []byte {
		if md == nil {
			return b
		}
		b = append(field(b, name), '{')
		b = optional(b, "caption", md.Caption)
		b = optional(b, "filename", md.Filename)
		b = str(b, "mime_type", md.MimeType)
		b = str(b, "sha256", md.SHA256)
		b = str(b, "id", md.ID)
		if md.Voice {
			b = append(field(b, "voice"), "true"...)
		}
		return append(b, '}')
	}
	b = append(b, '{')
	b = str(b, "from", m.From)
	b = optional(b, "to", m.To)
	b = str(b, "id", m.ID)
	b = str(b, "timestamp", m.Timestamp)
	b = str(b, "type", m.Type)
	if m.Text != nil {
		b = append(field(b, "text"), '{')
		b = append(str(b, "body", m.Text.Body), '}')
	}
	if m.Reaction != nil {
		b = append(field(b, "reaction"), '{')
		b = str(b, "message_id", m.Reaction.MessageID)
		b = append(str(b, "emoji", m.Reaction.Emoji), '}')
	}
	if l := m.Location; l != nil {
		b = append(field(b, "location"), '{')
		b = appendFloat(field(b, "latitude"), l.Latitude)
		b = appendFloat(field(b, "longitude"), l.Longitude)
		b = optional(b, "name", l.Name)
		b = append(optional(b, "address", l.Address), '}')
	}
	b = media(b, "image", m.Image)
	b = media(b, "audio", m.Audio)
	b = media(b, "document", m.Document)
	if hc := m.HistoryContext; hc != nil {
		b = append(field(b, "history_context"), '{')
		b = str(b, "status", hc.Status)
		if hc.FromMe {
			b = append(field(b, "from_me"), "true"...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// threadList writes the threads array of one history chunk a message at a time: a thread
// item per run of messages of the same thread, {"id":…,"messages":[…]}.
type threadList struct {
	b        []byte
	thread   string // the thread of the open item
	threads  int    // thread items
	messages int
}

func (l *threadList) reset() { *l = threadList{b: l.b[:0]} }

// add appends m to the open thread item, or opens a new one when thread is another.
func (l *threadList) add(thread string, m *wireMessage) {
	switch {
	case l.messages == 0:
		l.b = append(l.b, '[')
	case thread == l.thread:
		l.b = append(l.b, ',')
	default:
		l.b = append(l.b, "]},"...)
	}
	if l.messages == 0 || thread != l.thread {
		l.b = append(l.b, `{"id":`...)
		l.b = appendMetaString(l.b, thread)
		l.b = append(l.b, `,"messages":[`...)
		l.thread = thread
		l.threads++
	}
	l.b = m.appendJSON(l.b)
	l.messages++
}

// size is about how many bytes the list holds.
func (l *threadList) size() int { return len(l.b) }

// json closes the list and returns it (valid until the next reset).
func (l *threadList) json() json.RawMessage {
	if l.messages == 0 {
		return nil
	}
	l.b = append(l.b, "]}]"...)
	return l.b
}

// envelope wraps the value of one change of n's webhook.
func envelope(n Number, field string, v webhookValue) webhookEnvelope {
	v.MessagingProduct = "whatsapp"
	v.Metadata = valueMetadata{DisplayPhoneNumber: n.DisplayPhoneNumber, PhoneNumberID: n.PhoneNumberID}
	return webhookEnvelope{
		Object: "whatsapp_business_account",
		Entry:  []webhookEntry{{ID: n.WABAID, Changes: []webhookChange{{Field: field, Value: v}}}},
	}
}

// historyChunk renders the history webhook of one chunk of n.
func historyChunk(n Number, meta chunkMetadata, threads *threadList) ([]byte, error) {
	item := historyItem{Metadata: &meta, Threads: threads.json()}
	body, err := encodeWebhook(envelope(n, "history", webhookValue{History: []historyItem{item}}))
	if err != nil {
		return nil, fmt.Errorf("history chunk %d/%d: %w", meta.Phase, meta.ChunkOrder, err)
	}
	return body, nil
}

// wamid builds an id shaped like Meta's: base64 of the other party's number, the direction
// and a 20-character hex id. The serial number inside makes it unique within a history.
func wamid(other string, outbound bool, serial int, random uint32) string {
	dir := byte(0x12)
	if outbound {
		dir = 0x11
	}
	inner := fmt.Sprintf("3EB0%08X%08X", serial, random)
	b := []byte{0x1c, 0x18, byte(len(other))}
	b = append(b, other...)
	b = append(b, 0x15, 0x02, 0x00, dir, 0x18, byte(len(inner)))
	b = append(b, inner...)
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}
