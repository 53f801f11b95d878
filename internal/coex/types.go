// Package coex parses and normalises the WhatsApp Business webhooks that carry
// Coexistence data: the history sync (history), contact sync
// (smb_app_state_sync), messages sent from the WhatsApp Business app
// (smb_message_echoes), live traffic (messages) and account events
// (account_update).
//
// The package is pure: it turns raw webhook bytes into plain values and knows
// nothing about storage or HTTP. Parse accepts every entry and change of a
// delivery, keeps unknown fields and message types as raw JSON, and reports a
// descriptive error when a known field is malformed.
package coex

import "encoding/json"

// ObjectWhatsAppBusinessAccount is the only envelope object Parse accepts.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// Webhook field names (entry[].changes[].field).
const (
	FieldHistory          = "history"
	FieldSMBAppStateSync  = "smb_app_state_sync"
	FieldSMBMessageEchoes = "smb_message_echoes"
	FieldMessages         = "messages"
	FieldAccountUpdate    = "account_update"
)

// CodeHistoryDeclined is the history error code sent when the business chose
// not to share its chat history.
const CodeHistoryDeclined = 2593109

// Message directions, seen from the business.
const (
	DirectionInbound  = "inbound"  // user → business
	DirectionOutbound = "outbound" // business → user
)

// Message origins: which webhook a message came from.
const (
	OriginHistory = "history" // history sync (chunks and media follow-ups)
	OriginEcho    = "echo"    // smb_message_echoes: sent from the WhatsApp Business app
	OriginLive    = "live"    // messages: received live through Cloud API
)

// Normalised delivery statuses, in rank order; StatusError is final.
const (
	StatusPending   = "pending"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusPlayed    = "played"
	StatusError     = "error"
)

// TypeMediaPlaceholder is the history message type that stands for a media
// message whose content is not included.
const TypeMediaPlaceholder = "media_placeholder"

// account_update events relevant to Coexistence. Other events are kept as sent.
const (
	EventPartnerRemoved     = "PARTNER_REMOVED"
	EventAccountOffboarded  = "ACCOUNT_OFFBOARDED"
	EventAccountReconnected = "ACCOUNT_RECONNECTED"
)

// Batch is one parsed webhook delivery: every change of every entry, in order.
type Batch struct {
	Changes []Change
}

// Change is one entry[].changes[] item. Which slices are filled depends on Field;
// a change of an unknown field carries only the ids and Raw.
type Change struct {
	WABAID             string // entry[].id
	Field              string
	PhoneNumberID      string // value.metadata.phone_number_id: the routing key
	DisplayPhoneNumber string // value.metadata.display_phone_number, as sent

	// history
	Chunks        []Chunk        // value.history[] items with metadata and threads
	HistoryErrors []HistoryError // value.history[].errors[]
	MediaUpdates  []Message      // value.messages[]: full media objects for earlier placeholders (match by WAMID)

	// smb_app_state_sync
	Contacts []ContactChange

	// smb_message_echoes (outbound, OriginEcho) and messages (inbound, OriginLive)
	Messages []Message
	Edits    []Edit
	Revokes  []Revoke

	// messages
	Statuses []StatusUpdate

	// account_update
	Account *AccountEvent

	Raw json.RawMessage // the change's value, byte-exact; nil when absent or null
}

// Declined reports whether the change carries the "history declined" error.
func (c Change) Declined() bool {
	for _, e := range c.HistoryErrors {
		if e.Declined() {
			return true
		}
	}
	return false
}

// Chunk is one approved history chunk.
type Chunk struct {
	Phase       int // 0 = day 0–1, 1 = day 1–90, 2 = day 90–180
	ChunkOrder  int // chunks may arrive out of order
	Progress    int // 0..100; 100 = the sync is complete
	ThreadCount int
	Messages    []Message // all threads flattened, in thread order then message order
}

// HistoryError is one value.history[].errors[] item.
type HistoryError struct {
	Code    int
	Title   string
	Message string
	Details string // error_data.details
}

// Declined reports whether the error means the business declined history sharing.
func (e HistoryError) Declined() bool { return e.Code == CodeHistoryDeclined }

// Message is one normalised message from any origin.
type Message struct {
	WAMID       string
	ContactWAID string // the other party, digits only (thread id, echo "to", live "from")
	ContactName string // live messages: value.contacts[].profile.name

	Direction string // DirectionInbound or DirectionOutbound
	Type      string // as sent, e.g. text, image, media_placeholder, reaction
	// Text is the searchable text: text.body; the caption of a media message;
	// "name — address" of a location; the reaction emoji; the label of a
	// button or interactive reply. Empty otherwise.
	Text      string
	Timestamp int64 // Unix seconds

	// Status is the normalised delivery status (see NormalizeStatus) or "".
	// History carries it on incoming messages too (often "pending"); it is
	// only meaningful on outbound messages.
	Status string
	Origin string // OriginHistory, OriginEcho or OriginLive

	MediaID     string // image/video/document/audio/sticker id
	MimeType    string
	MediaSHA256 string
	Filename    string // document file name

	ReactionTo    string // wamid the reaction refers to
	ReactionEmoji string // "" when a reaction is removed

	Latitude, Longitude *float64
	LocationName        string
	LocationAddress     string

	ErrorCode  int    // first messages[].errors[] item (e.g. 131060 on "unsupported")
	ErrorTitle string //

	Position int             // index inside its thread (history) or its array (other origins)
	Raw      json.RawMessage // the original message object, byte-exact
}

// ContactChange is one smb_app_state_sync contact item.
type ContactChange struct {
	WAID      string // digits only
	FullName  string // empty on remove
	FirstName string // empty on remove
	Removed   bool   // action "remove"; any other action adds or updates
	Timestamp int64
}

// Edit is an echo of a message the business edited in the app.
type Edit struct {
	WAMID         string // id of the edit echo itself
	OriginalWAMID string
	NewText       string // text or caption of the edited message
	Timestamp     int64
	ContactWAID   string
	Raw           json.RawMessage
}

// Revoke is an echo of a message the business deleted in the app.
type Revoke struct {
	WAMID         string // id of the revoke echo itself
	OriginalWAMID string
	Timestamp     int64
	ContactWAID   string
	Raw           json.RawMessage
}

// StatusUpdate is one live value.statuses[] item.
type StatusUpdate struct {
	WAMID         string
	Status        string // normalised ("failed" becomes StatusError)
	Timestamp     int64
	RecipientWAID string // digits only
	ErrorCode     int    // first errors[] item, 0 if none
	ErrorTitle    string
	Raw           json.RawMessage
}

// AccountEvent is an account_update change.
type AccountEvent struct {
	Event       string // EventPartnerRemoved, EventAccountOffboarded, EventAccountReconnected, or any other value as sent
	Reason      string // disconnection_info.reason (PARTNER_REMOVED only)
	InitiatedBy string // disconnection_info.initiated_by: USER or SYSTEM
	WABAID      string // waba_info.waba_id when present
}
