// Package export writes one conversation as a file staff can take away: JSON (everything, for
// machines), CSV (for spreadsheets) and WhatsApp-style text (one line per message, for
// people). Writers stream: messages are written as they are given, page by page, so a huge
// thread never sits in memory. Everything is UTF-8. The package is pure: no database, no HTTP.
package export

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatText = "txt"
)

// Formats lists the export formats in the order the interface offers them.
var Formats = []string{FormatJSON, FormatCSV, FormatText}

// DocumentFormat names the JSON document's shape and version.
const DocumentFormat = "coexhistory.thread.v1"

// Directions of messages (as stored).
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// Thread describes the exported conversation.
type Thread struct {
	ID             uint64 `json:"id"`
	PhoneNumberID  string `json:"phone_number_id"`
	BusinessName   string `json:"business_name"` // the number's label; names outbound messages
	ContactWAID    string `json:"contact_wa_id"`
	ContactName    string `json:"contact_name"`
	MessageCount   int    `json:"message_count"`
	FirstMessageAt int64  `json:"first_message_at"`
	LastMessageAt  int64  `json:"last_message_at"`
}

// Sender is who wrote a message of the given direction: the business number's label for
// outbound messages, the contact's name (else +number) for inbound ones.
func (t Thread) Sender(direction string) string {
	if direction == Outbound {
		if t.BusinessName != "" {
			return t.BusinessName
		}
		return "Business"
	}
	if t.ContactName != "" {
		return t.ContactName
	}
	if t.ContactWAID != "" {
		return "+" + t.ContactWAID
	}
	return "Contact"
}

// Location is the place a location message shares.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Reaction is a current reaction to a message.
type Reaction struct {
	Emoji     string `json:"emoji"`
	Direction string `json:"direction"`
}

// Message is one message of the thread, in thread order.
type Message struct {
	WAMID     string     `json:"wamid"`
	Timestamp int64      `json:"timestamp"` // unix seconds
	Direction string     `json:"direction"`
	Sender    string     `json:"sender"` // set by the writers from Thread.Sender
	Type      string     `json:"type"`
	Text      string     `json:"text"`
	Status    string     `json:"status"`
	Origin    string     `json:"origin"`
	Edited    bool       `json:"edited"`
	Deleted   bool       `json:"deleted"`
	MediaID   string     `json:"media_id,omitempty"`
	MimeType  string     `json:"mime_type,omitempty"`
	Location  *Location  `json:"location,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`
	// ReactionTo is set on a reaction listed on its own: the wamid of the message it reacts
	// to, which the archive does not hold.
	ReactionTo string `json:"reaction_to,omitempty"`
	// OriginalText and Edits are an edited message's earlier versions: its text as first
	// received and every edit, oldest first (Text is the latest).
	OriginalText string `json:"original_text,omitempty"`
	Edits        []Edit `json:"edits,omitempty"`
}

// Edit is one edit of a message.
type Edit struct {
	WAMID     string `json:"wamid,omitempty"`
	Text      string `json:"text"`
	Timestamp int64  `json:"timestamp"`
}

// IsMedia reports whether a message type carries media.
func IsMedia(typ string) bool {
	switch typ {
	case "image", "video", "audio", "voice", "document", "sticker", "media_placeholder":
		return true
	}
	return false
}

// Writer writes the messages of one thread in one format.
type Writer interface {
	// Write adds one message (messages come in thread order).
	Write(m Message) error
	// Flush hands what is buffered to the underlying io.Writer (after each page, so a
	// download starts at once).
	Flush() error
	// Close finishes the document (closing brackets, flushing); it does not close the
	// underlying io.Writer.
	Close() error
}

// Options adjust a writer.
type Options struct {
	ExportedAt time.Time      // recorded in the JSON document; zero leaves it out
	Location   *time.Location // time zone of the text export's times; nil = UTC
}

// New returns the writer of format, having written the document's header to w.
func New(format string, w io.Writer, t Thread, opts Options) (Writer, error) {
	switch format {
	case FormatJSON:
		return NewJSON(w, t, opts)
	case FormatCSV:
		return NewCSV(w, t)
	case FormatText:
		return NewText(w, t, opts), nil
	}
	return nil, fmt.Errorf("unknown export format %q", format)
}

// ContentType is the HTTP media type of format.
func ContentType(format string) string {
	switch format {
	case FormatJSON:
		return "application/json; charset=utf-8"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// FileName is a safe download name for the thread's export: only ASCII letters, digits,
// dots and dashes.
func FileName(t Thread, format string) string {
	contact := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, t.ContactWAID)
	name := fmt.Sprintf("whatsapp-thread-%d", t.ID)
	if contact != "" {
		name += "-" + contact
	}
	return name + "." + format
}
