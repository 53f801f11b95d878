package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The types below encode Meta's webhook and Graph API shapes. They are written here on
// purpose instead of reusing the application's parser types: an independent encoder is a
// better test of that parser.

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
	Metadata *chunkMetadata `json:"metadata,omitempty"`
	Threads  []wireThread   `json:"threads,omitempty"`
	Errors   []historyError `json:"errors,omitempty"`
}

type chunkMetadata struct {
	Phase      int `json:"phase"`
	ChunkOrder int `json:"chunk_order"`
	Progress   int `json:"progress"`
}

type wireThread struct {
	ID       string        `json:"id"`
	Messages []wireMessage `json:"messages"`
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
// can be escaped without parsing.
func metaEscape(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		c := b[0]
		switch {
		case c == '/':
			out = append(out, '\\', '/')
			b = b[1:]
		case c < utf8.RuneSelf:
			out = append(out, c)
			b = b[1:]
		default:
			r, size := utf8.DecodeRune(b)
			b = b[size:]
			if r > 0xFFFF {
				r -= 0x10000
				out = appendUnicodeEscape(out, 0xD800+(r>>10))
				out = appendUnicodeEscape(out, 0xDC00+(r&0x3FF))
			} else {
				out = appendUnicodeEscape(out, r)
			}
		}
	}
	return out
}

// appendUnicodeEscape appends \uXXXX (lowercase hex) for a rune of at most 0xFFFF.
func appendUnicodeEscape(out []byte, r rune) []byte {
	const hexDigits = "0123456789abcdef"
	return append(out, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}
