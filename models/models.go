// Package models holds the plain records coexhistory stores. It imports nothing of ours;
// the tags name the columns of the versioned schema in migrations/.
package models

import "time"

// Roles of staff accounts and API tokens.
const (
	RoleAdmin = "admin" // manages numbers, users, tokens; reads everything
	RoleAgent = "agent" // reads and searches
)

// Providers a business number can be synced through.
const (
	ProviderMeta    = "meta"
	ProviderPositus = "positus"
)

// Message directions and origins.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"

	OriginHistory = "history"
	OriginEcho    = "echo"
	OriginLive    = "live"
	OriginAPI     = "api" // sent through the Cloud API by another system: known from its statuses only
)

// Inbox states.
const (
	InboxPending    = "pending"
	InboxProcessing = "processing"
	InboxDone       = "done"
	InboxFailed     = "failed"
	// InboxUnknownNumber: the body names a business number that is not registered; it is
	// kept, not applied, and goes back to pending when that number is registered.
	InboxUnknownNumber = "unknown_number"
	// InboxRefused: the body may not be applied where it came from (a Positus webhook
	// naming a number registered with another provider); kept for staff, never retried.
	InboxRefused = "refused"
)

// Sync states of a business number's history sync.
const (
	SyncNotRequested = "not_requested"
	SyncRequested    = "requested"
	SyncReceiving    = "receiving"
	SyncComplete     = "complete"
	SyncDeclined     = "declined"
	SyncFailed       = "failed"
	SyncTimedOut     = "timed_out"
)

// Account states of a business number (from account_update webhooks).
const (
	AccountActive      = "active"
	AccountRemoved     = "partner_removed"
	AccountOffboarded  = "offboarded"
	AccountReconnected = "reconnected"
	AccountUninstalled = "app_uninstalled"
)

// AccountEvent is one account_update event as it concerned one business number
// (PhoneNumberID "" when it matched no registered number).
type AccountEvent struct {
	ID            uint64    `gorm:"column:id;primaryKey" json:"id"`
	PhoneNumberID string    `gorm:"column:phone_number_id" json:"phone_number_id"`
	WABAID        string    `gorm:"column:waba_id" json:"waba_id"`
	NamedNumber   string    `gorm:"column:named_number" json:"named_number,omitempty"` // value.phone_number, digits
	Event         string    `gorm:"column:event" json:"event"`
	Reason        string    `gorm:"column:reason" json:"reason,omitempty"`
	InitiatedBy   string    `gorm:"column:initiated_by" json:"initiated_by,omitempty"`
	Detail        string    `gorm:"column:detail" json:"detail,omitempty"` // ban or violation information
	StateBefore   string    `gorm:"column:state_before" json:"state_before"`
	StateAfter    string    `gorm:"column:state_after" json:"state_after"`
	InboxID       uint64    `gorm:"column:inbox_id" json:"inbox_id"`
	At            time.Time `gorm:"column:at" json:"at"`
}

// TableName maps AccountEvent to its table.
func (AccountEvent) TableName() string { return "account_events" }

// User is a staff account. EmailNorm is the address normalised (NFKC, case folded, format
// characters removed): accounts are found and kept unique by it, byte for byte.
type User struct {
	ID                 uint64     `gorm:"column:id;primaryKey" json:"id"`
	Email              string     `gorm:"column:email" json:"email"`
	EmailNorm          string     `gorm:"column:email_norm" json:"-"`
	PasswordHash       string     `gorm:"column:password_hash" json:"-"`
	Role               string     `gorm:"column:role" json:"role"`
	CreatedAt          time.Time  `gorm:"column:created_at" json:"created_at"`
	LastLoginAt        *time.Time `gorm:"column:last_login_at" json:"last_login_at,omitempty"`
	DisabledAt         *time.Time `gorm:"column:disabled_at" json:"disabled_at,omitempty"`
	MustChangePassword bool       `gorm:"column:must_change_password" json:"must_change_password"`
}

// Session is a signed-in browser. ID is the SHA-256 of the cookie value.
type Session struct {
	ID         string     `gorm:"column:id;primaryKey"`
	UserID     uint64     `gorm:"column:user_id"`
	CSRFToken  string     `gorm:"column:csrf_token"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	ExpiresAt  time.Time  `gorm:"column:expires_at"`
	LastSeenAt *time.Time `gorm:"column:last_seen_at"`
}

// APIToken is a bearer token for /api/v1. Only the SHA-256 of the token is kept.
type APIToken struct {
	ID         uint64     `gorm:"column:id;primaryKey" json:"id"`
	Name       string     `gorm:"column:name" json:"name"`
	Role       string     `gorm:"column:role" json:"role"`
	TokenHash  string     `gorm:"column:token_hash" json:"-"`
	CreatedBy  string     `gorm:"column:created_by" json:"created_by"`
	CreatedAt  time.Time  `gorm:"column:created_at" json:"created_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at" json:"last_used_at,omitempty"`
	UserID     *uint64    `gorm:"column:user_id" json:"-"` // the account that created it; nil from the CLI
}

// AuditEntry records who did what, when.
type AuditEntry struct {
	ID       uint64    `gorm:"column:id;primaryKey" json:"id"`
	At       time.Time `gorm:"column:at" json:"at"`
	Actor    string    `gorm:"column:actor" json:"actor"`
	Action   string    `gorm:"column:action" json:"action"`
	Target   string    `gorm:"column:target" json:"target"`
	Detail   string    `gorm:"column:detail" json:"detail"`
	RemoteIP string    `gorm:"column:remote_ip" json:"remote_ip"`
}

// TableName maps AuditEntry to its table.
func (AuditEntry) TableName() string { return "audit_log" }

// BusinessNumber is a WhatsApp Business number in Coexistence. AccessTokenEnc is the
// AES-GCM sealed access token; the plain token never leaves internal/store's callers.
type BusinessNumber struct {
	ID                 uint64     `gorm:"column:id;primaryKey" json:"id"`
	Label              string     `gorm:"column:label" json:"label"`
	DisplayPhoneNumber string     `gorm:"column:display_phone_number" json:"display_phone_number"`
	PhoneNumberID      string     `gorm:"column:phone_number_id" json:"phone_number_id"`
	WABAID             string     `gorm:"column:waba_id" json:"waba_id"`
	Provider           string     `gorm:"column:provider" json:"provider"`
	ProviderNumberID   string     `gorm:"column:provider_number_id" json:"provider_number_id"`
	AccessTokenEnc     []byte     `gorm:"column:access_token_enc" json:"-"`
	OnboardedAt        *time.Time `gorm:"column:onboarded_at" json:"onboarded_at,omitempty"`
	AccountState       string     `gorm:"column:account_state" json:"account_state"`
	CreatedAt          time.Time  `gorm:"column:created_at" json:"created_at"`
	UpdatedAt          time.Time  `gorm:"column:updated_at" json:"updated_at"`
}

// SyncRun is the history sync of one business number (Meta allows one per onboarding).
type SyncRun struct {
	PhoneNumberID     string     `gorm:"column:phone_number_id;primaryKey" json:"phone_number_id"`
	State             string     `gorm:"column:state" json:"state"`
	Progress          int        `gorm:"column:progress" json:"progress"`
	ContactsRequestID string     `gorm:"column:contacts_request_id" json:"contacts_request_id"`
	HistoryRequestID  string     `gorm:"column:history_request_id" json:"history_request_id"`
	RequestedAt       *time.Time `gorm:"column:requested_at" json:"requested_at,omitempty"`
	FirstChunkAt      *time.Time `gorm:"column:first_chunk_at" json:"first_chunk_at,omitempty"`
	LastChunkAt       *time.Time `gorm:"column:last_chunk_at" json:"last_chunk_at,omitempty"`
	CompletedAt       *time.Time `gorm:"column:completed_at" json:"completed_at,omitempty"`
	ErrorCode         int        `gorm:"column:error_code" json:"error_code"`
	ErrorMessage      string     `gorm:"column:error_message" json:"error_message"`
	UpdatedAt         time.Time  `gorm:"column:updated_at" json:"updated_at"`
}

// InboxItem is one received webhook body, kept verbatim.
type InboxItem struct {
	ID            uint64     `gorm:"column:id;primaryKey" json:"id"`
	BodySHA256    string     `gorm:"column:body_sha256" json:"body_sha256"`
	Source        string     `gorm:"column:source" json:"source"`
	Body          []byte     `gorm:"column:body" json:"-"`
	Size          int        `gorm:"column:size" json:"size"`
	ReceivedAt    time.Time  `gorm:"column:received_at" json:"received_at"`
	State         string     `gorm:"column:state" json:"state"`
	Field         string     `gorm:"column:field" json:"field"`
	PhoneNumberID string     `gorm:"column:phone_number_id" json:"phone_number_id"`
	Attempts      int        `gorm:"column:attempts" json:"attempts"`
	LeaseOwner    string     `gorm:"column:lease_owner" json:"-"`
	LeaseUntilMs  int64      `gorm:"column:lease_until_ms" json:"-"`
	Error         string     `gorm:"column:error" json:"error"`
	ProcessedAt   *time.Time `gorm:"column:processed_at" json:"processed_at,omitempty"`
	BodyPurgedAt  *time.Time `gorm:"column:body_purged_at" json:"body_purged_at,omitempty"` // retention removed the body
}

// TableName maps InboxItem to its table.
func (InboxItem) TableName() string { return "webhook_inbox" }

// HistoryChunk is one entry of the chunk ledger.
type HistoryChunk struct {
	ID            uint64    `gorm:"column:id;primaryKey" json:"id"`
	PhoneNumberID string    `gorm:"column:phone_number_id" json:"phone_number_id"`
	Phase         int       `gorm:"column:phase" json:"phase"`
	ChunkOrder    int       `gorm:"column:chunk_order" json:"chunk_order"`
	Progress      int       `gorm:"column:progress" json:"progress"`
	ThreadCount   int       `gorm:"column:thread_count" json:"thread_count"`
	MessageCount  int       `gorm:"column:message_count" json:"message_count"`
	InboxID       uint64    `gorm:"column:inbox_id" json:"inbox_id"`
	ReceivedAt    time.Time `gorm:"column:received_at" json:"received_at"`
}

// Contact is an address-book entry of a business number (smb_app_state_sync).
type Contact struct {
	ID            uint64 `gorm:"column:id;primaryKey" json:"id"`
	PhoneNumberID string `gorm:"column:phone_number_id" json:"phone_number_id"`
	WAID          string `gorm:"column:wa_id" json:"wa_id"`
	FullName      string `gorm:"column:full_name" json:"full_name"`
	FirstName     string `gorm:"column:first_name" json:"first_name"`
	Removed       bool   `gorm:"column:removed" json:"removed"`
	ChangedAt     int64  `gorm:"column:changed_at" json:"changed_at"`
}

// Thread is the conversation of one business number with one contact.
type Thread struct {
	ID            uint64 `gorm:"column:id;primaryKey" json:"id"`
	PhoneNumberID string `gorm:"column:phone_number_id" json:"phone_number_id"`
	ContactWAID   string `gorm:"column:contact_wa_id" json:"contact_wa_id"`
	ContactName   string `gorm:"column:contact_name" json:"contact_name"`
	// ContactUserID and ContactUsername: the contact's business-scoped user id and username,
	// when known. A contact known only by them has a ContactWAID starting with "u:" (a key,
	// not a phone number).
	ContactUserID   string `gorm:"column:contact_user_id" json:"contact_user_id"`
	ContactUsername string `gorm:"column:contact_username" json:"contact_username"`
	MessageCount    int    `gorm:"column:message_count" json:"message_count"`
	FirstMessageAt  int64  `gorm:"column:first_message_at" json:"first_message_at"`
	LastMessageAt   int64  `gorm:"column:last_message_at" json:"last_message_at"`
}

// Message is one WhatsApp message, stored once per (PhoneNumberID, WAMID).
// Thread order is (TS, WAMID): arrival order never matters.
type Message struct {
	ID            uint64    `gorm:"column:id;primaryKey" json:"-"`
	PhoneNumberID string    `gorm:"column:phone_number_id" json:"phone_number_id"`
	WAMID         string    `gorm:"column:wamid" json:"wamid"`
	ThreadID      uint64    `gorm:"column:thread_id" json:"thread_id"`
	ContactWAID   string    `gorm:"column:contact_wa_id" json:"contact_wa_id"`
	Direction     string    `gorm:"column:direction" json:"direction"`
	Type          string    `gorm:"column:type" json:"type"`
	Text          string    `gorm:"column:text" json:"text"`
	TS            int64     `gorm:"column:ts" json:"timestamp"`
	Status        string    `gorm:"column:status" json:"status"`
	Origin        string    `gorm:"column:origin" json:"origin"`
	Edited        bool      `gorm:"column:edited" json:"edited"`
	Deleted       bool      `gorm:"column:deleted" json:"deleted"`
	MediaID       string    `gorm:"column:media_id" json:"media_id,omitempty"`
	MimeType      string    `gorm:"column:mime_type" json:"mime_type,omitempty"`
	ReactionTo    string    `gorm:"column:reaction_to" json:"reaction_to,omitempty"`
	Phase         int       `gorm:"column:phase" json:"-"`
	ChunkOrder    int       `gorm:"column:chunk_order" json:"-"`
	Position      int       `gorm:"column:position" json:"-"`
	Raw           string    `gorm:"column:raw" json:"-"`
	CreatedAt     time.Time `gorm:"column:created_at" json:"-"`
	UpdatedAt     time.Time `gorm:"column:updated_at" json:"-"`
}

// MessageEvent is one step of a message's delivery timeline. Source is "webhook"
// (statuses[]), "api" (Message History Events API) or "snapshot" (history_context.status,
// no time). EventKey deduplicates within a source.
type MessageEvent struct {
	ID                 uint64    `gorm:"column:id;primaryKey" json:"-"`
	PhoneNumberID      string    `gorm:"column:phone_number_id" json:"phone_number_id"`
	WAMID              string    `gorm:"column:wamid" json:"wamid"`
	Source             string    `gorm:"column:source" json:"source"`
	EventKey           string    `gorm:"column:event_key" json:"event_id"`
	DeliveryStatus     string    `gorm:"column:delivery_status" json:"delivery_status"`
	OccurrenceTS       int64     `gorm:"column:occurrence_ts" json:"occurrence_timestamp"`
	StatusTS           int64     `gorm:"column:status_ts" json:"status_timestamp"`
	ApplicationID      string    `gorm:"column:application_id" json:"application_id,omitempty"`
	ApplicationName    string    `gorm:"column:application_name" json:"application_name,omitempty"`
	ErrorDescription   string    `gorm:"column:error_description" json:"error_description,omitempty"`
	WebhookUpdateState string    `gorm:"column:webhook_update_state" json:"webhook_update_state,omitempty"`
	WebhookURI         string    `gorm:"column:webhook_uri" json:"webhook_uri,omitempty"`
	Text               string    `gorm:"column:text" json:"-"` // an edit's new text
	CreatedAt          time.Time `gorm:"column:created_at" json:"-"`
}

// MessageEventFetch remembers when the events of a message were last fetched from Meta.
type MessageEventFetch struct {
	PhoneNumberID string    `gorm:"column:phone_number_id;primaryKey"`
	WAMID         string    `gorm:"column:wamid;primaryKey"`
	FetchedAt     time.Time `gorm:"column:fetched_at"`
	ErrorCode     int       `gorm:"column:error_code"`
	ErrorMessage  string    `gorm:"column:error_message"`
}
