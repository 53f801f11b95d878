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
	OriginAPI     = "api"     // sent through the Cloud API by another system: known only from its statuses
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
	EventPartnerRemoved        = "PARTNER_REMOVED"
	EventAccountOffboarded     = "ACCOUNT_OFFBOARDED"
	EventAccountReconnected    = "ACCOUNT_RECONNECTED"
	EventPartnerAppUninstalled = "PARTNER_APP_UNINSTALLED"
	EventPartnerAdded          = "PARTNER_ADDED"
	EventVerifiedAccount       = "VERIFIED_ACCOUNT"
	EventDisabledUpdate        = "DISABLED_UPDATE"
)

// KnownAccountEvent tells the account_update events above (the ones the archive knows the
// meaning of) from any other, which is kept and shown as unknown.
func KnownAccountEvent(event string) bool {
	switch event {
	case EventPartnerRemoved, EventAccountOffboarded, EventAccountReconnected,
		EventPartnerAppUninstalled, EventPartnerAdded, EventVerifiedAccount, EventDisabledUpdate:
		return true
	}
	return false
}

// system message types (system.type) that change a contact's identity.
const (
	SystemUserChangedNumber = "user_changed_number"
	SystemUserChangedUserID = "user_changed_user_id"
	// Older names of the same events.
	SystemCustomerChangedNumber   = "customer_changed_number"
	SystemCustomerIdentityChanged = "customer_identity_changed"
)

// Limits on identifiers. A longer value is not an identifier WhatsApp sends
// and would be clipped by any index, so the item carrying it is quarantined.
const (
	MaxIDLength     = 191 // wamid and other message ids
	MaxPhoneLength  = 32  // phone numbers (wa_id), digits only; E.164 has at most 15
	MaxUserIDLength = 256 // business-scoped user ids (BSUID)
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

	// ItemErrors lists the items of this change that could not be read, in
	// the order they appear; every other item is in the slices above.
	ItemErrors []ItemError

	Raw json.RawMessage // the change's value, byte-exact; nil when absent or null
}

// Item kinds of an ItemError.
const (
	ItemValue   = "value"   // the change's value itself, or one of its members
	ItemHistory = "history" // a value.history[] item (chunk or error report)
	ItemThread  = "thread"  // a history thread: all its messages are quarantined with it
	ItemMessage = "message" // a message, media follow-up, echo, edit or revoke
	ItemStatus  = "status"  // a value.statuses[] item
	ItemContact = "contact" // a value.state_sync[] item
)

// ItemError is one item of a change that could not be read: which item, why,
// and its JSON (valid UTF-8) so that it can be kept and shown.
type ItemError struct {
	Kind          string // ItemMessage, ItemThread, …
	Path          string // where inside the change's value, e.g. "history 0 thread 3 message 17"
	WAMID         string // the item's id when it could be read
	ContactWAID   string // the contact's phone number when known
	ContactUserID string // the contact's BSUID when known
	Err           string // why it was not read
	Raw           json.RawMessage
}

func (e ItemError) Error() string {
	s := e.Path
	if e.WAMID != "" {
		s += " (" + e.WAMID + ")"
	}
	return s + ": " + e.Err
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
//
// The contact (the business's customer) is known by its phone number
// (ContactWAID), its business-scoped user id (ContactUserID), or both: a user
// with a WhatsApp username may hide the phone number, which then arrives as "".
type Message struct {
	WAMID              string
	ContactWAID        string // the other party's phone number, digits only, or "" (thread id, echo "to", live "from")
	ContactUserID      string // the other party's BSUID (thread context.user_id, to_user_id, from_user_id) or ""
	ContactUsername    string // the other party's username (without "@") when sent
	ContactCountryCode string // the other party's country code (e.g. "BR") when sent
	ContactName        string // value.contacts[].profile.name

	From       string // sender as sent, digits only (the business or the contact)
	FromUserID string // sender's BSUID (from_user_id) when sent
	FromMe     bool   // history_context.from_me

	Direction string // DirectionInbound or DirectionOutbound
	Type      string // as sent, e.g. text, image, media_placeholder, reaction
	// Text is the readable, searchable rendering of the content (see
	// RenderText): text.body; a media caption (and a document's file name);
	// "name — address" of a location; the reaction emoji; a reply's title;
	// shared contact cards; an order; a system notice; an unsupported
	// message's error. Empty when the type has no text.
	Text      string
	Timestamp int64 // Unix seconds

	// Status is the normalised delivery status (see NormalizeStatus) or "".
	// History carries it on incoming messages too (often "pending"); it is
	// only meaningful on outbound messages.
	Status string
	Origin string // OriginHistory, OriginEcho or OriginLive

	MediaID  string // image/video/document/audio/sticker id
	MimeType string

	ReactionTo    string // wamid the reaction refers to
	ReactionEmoji string // "" when a reaction is removed

	ErrorCode  int    // first messages[].errors[] item (e.g. 131060 on "unsupported")
	ErrorTitle string //

	// Content holds the structured parts beyond the common ones (nil when a
	// message has none, as most text messages): kept apart so that the
	// thousands of messages of a chunk stay small.
	Content *Content

	Position int             // index inside its thread (history) or its array (other origins)
	Raw      json.RawMessage // the original message object, byte-exact
}

// Content is the structured content of a message: the type's fields, the
// context of a reply, the ad it came from and its errors.
type Content struct {
	MediaSHA256 string
	Filename    string // document file name
	Caption     string // media caption
	Voice       bool   // audio.voice: a voice note
	Animated    bool   // sticker.animated

	Latitude, Longitude *float64
	LocationName        string
	LocationAddress     string
	LocationURL         string

	Errors []MessageError // messages[].errors[]

	Context     *MessageContext // a reply's quoted message, forwarding, referred product
	Referral    *Referral       // the Click-to-WhatsApp ad the conversation started from
	Contacts    []SharedContact // type contacts: shared vCards
	Order       *Order          // type order
	System      *SystemChange   // type system
	Reply       *Reply          // type interactive (button_reply, list_reply, nfm_reply) or button
	Unsupported string          // type unsupported: unsupported.type
}

// MessageError is one errors[] item of a message or status.
type MessageError struct {
	Code    int
	Title   string
	Message string
	Details string // error_data.details
}

// MessageContext is a message's context object.
type MessageContext struct {
	QuotedWAMID         string // context.id: the message this one replies to
	QuotedFrom          string // context.from, digits only
	Forwarded           bool
	FrequentlyForwarded bool
	ReferredProduct     *ReferredProduct
}

// ReferredProduct is context.referred_product: the catalog item a message asks about.
type ReferredProduct struct {
	CatalogID         string
	ProductRetailerID string
}

// Referral is a message's referral object: the ad (Click to WhatsApp) a
// conversation started from.
type Referral struct {
	SourceURL    string
	SourceType   string
	SourceID     string
	Headline     string
	Body         string
	MediaType    string
	ImageURL     string
	VideoURL     string
	ThumbnailURL string
	CTWAClid     string
}

// SharedContact is one contacts[] card of a contacts message.
type SharedContact struct {
	FormattedName, FirstName, LastName string
	Company, Department, Title         string // org
	Birthday                           string
	Phones                             []ContactPhone
	Emails                             []ContactValue // Value = email
	URLs                               []ContactValue // Value = url
	Addresses                          []ContactAddress
}

// Name returns the card's display name.
func (c SharedContact) Name() string {
	if c.FormattedName != "" {
		return c.FormattedName
	}
	return joinNonEmpty(" ", c.FirstName, c.LastName)
}

// ContactPhone is a phone of a shared contact card.
type ContactPhone struct {
	Phone string // as sent, e.g. "+55 11 91234-5678"
	WAID  string // digits only, when the number is on WhatsApp
	Type  string // HOME, WORK, CELL, …
}

// ContactValue is an e-mail or URL of a shared contact card.
type ContactValue struct {
	Value string
	Type  string
}

// ContactAddress is an address of a shared contact card.
type ContactAddress struct {
	Street, City, State, Zip, Country, CountryCode, Type string
}

// Order is the content of an order message (a cart sent from a catalog).
type Order struct {
	CatalogID string
	Text      string
	Items     []OrderItem
}

// OrderItem is one product_items[] line of an order.
type OrderItem struct {
	ProductRetailerID string
	Quantity          int64
	ItemPrice         *float64
	Currency          string
}

// SystemChange is the content of a system message (the customer changed number or id).
type SystemChange struct {
	Type      string // SystemUserChangedNumber, SystemUserChangedUserID, …
	Body      string
	NewWAID   string // the new phone number (wa_id or new_wa_id), digits only
	NewUserID string // the new BSUID (user_id)
	Customer  string
}

// Reply is a customer's answer to interactive buttons or lists, or to a
// template quick-reply button.
type Reply struct {
	Type         string // button_reply, list_reply, nfm_reply, or "button" (template quick reply)
	ID           string // reply id; the button payload for "button"; the flow name for nfm_reply
	Title        string // the text the customer tapped (the flow's body for nfm_reply)
	Description  string // list_reply description
	ResponseJSON string // nfm_reply response_json
}

// ContactChange is one smb_app_state_sync contact item.
type ContactChange struct {
	WAID        string // digits only; "" when only the BSUID is known
	UserID      string // BSUID
	Username    string
	CountryCode string
	FullName    string // empty on remove
	FirstName   string // empty on remove
	Removed     bool   // action "remove"; any other action adds or updates
	Timestamp   int64
}

// Edit is a message edited by its sender: by the business in the app
// (smb_message_echoes, Direction outbound, Origin echo) or by the customer
// (messages, Direction inbound, Origin live). It changes the original message
// of the same direction.
type Edit struct {
	WAMID         string // id of the edit itself
	OriginalWAMID string
	NewText       string // readable text of the edited message
	NewType       string // type of the edited message (text, image, …)
	Timestamp     int64
	ContactWAID   string
	ContactUserID string
	Direction     string // direction of the edited message (and of its sender)
	Origin        string // OriginEcho or OriginLive
	Raw           json.RawMessage
}

// Revoke is a message deleted by its sender: by the business in the app
// (Direction outbound, Origin echo) or by the customer (inbound, live).
type Revoke struct {
	WAMID         string // id of the revoke itself
	OriginalWAMID string
	Timestamp     int64
	ContactWAID   string
	ContactUserID string
	Direction     string
	Origin        string
	Raw           json.RawMessage
}

// StatusUpdate is one live value.statuses[] item.
type StatusUpdate struct {
	WAMID             string
	Status            string // normalised ("failed" becomes StatusError)
	Timestamp         int64
	RecipientWAID     string // digits only; "" when the message was sent to a BSUID
	RecipientUserID   string // recipient_user_id
	RecipientUsername string // value.contacts[].profile.username of the recipient
	ErrorCode         int    // first errors[] item, 0 if none
	ErrorTitle        string
	Errors            []MessageError

	ConversationID      string
	ConversationOrigin  string // conversation.origin.type (e.g. marketing, service)
	ConversationExpires int64  // conversation.expiration_timestamp
	Billable            *bool  // pricing.billable
	PricingModel        string
	PricingCategory     string
	PricingType         string

	Raw json.RawMessage
}

// AccountEvent is an account_update change.
type AccountEvent struct {
	Event       string // EventPartnerRemoved, EventAccountOffboarded, EventAccountReconnected, or any other value as sent
	Reason      string // disconnection_info.reason (PARTNER_REMOVED only)
	InitiatedBy string // disconnection_info.initiated_by: USER or SYSTEM
	WABAID      string // waba_info.waba_id when present
	PhoneNumber string // value.phone_number: the one business number concerned, digits only; "" = the whole WABA
	Detail      string // ban_info and violation_info, as "key=value" pairs (e.g. "waba_ban_state=DISABLE violation_type=SCAM")
}
