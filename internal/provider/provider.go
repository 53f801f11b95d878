// Package provider talks to the upstreams that hold a business number's WhatsApp data: Meta's
// Graph API directly, or Positus (a BSP that wraps it). It requests the Coexistence history
// sync, reads the Message History (Events) APIs, decodes Graph API errors into GraphAPIError,
// and retries transient failures with exponential back-off and full jitter.
package provider

import (
	"context"
	"errors"
)

// SyncType is what a sync request asks Meta to send: contacts or the chat history.
type SyncType string

// Sync types, in the order Meta lists them (contacts first, then history).
const (
	SyncContacts SyncType = "smb_app_state_sync"
	SyncHistory  SyncType = "history"
)

// Valid reports whether t is a sync type Meta knows.
func (t SyncType) Valid() bool { return t == SyncContacts || t == SyncHistory }

// Number is a business number as the clients need it.
type Number struct {
	PhoneNumberID    string // Meta's phone_number_id
	ProviderNumberID string // Positus's own number id (a UUID); unused by Meta
	AccessToken      string // bearer token; never logged nor put in errors
}

// SyncRequester asks an upstream to start one step of the history sync of a number. The
// returned request id is Meta's request_id ("" when the upstream does not tell it).
type SyncRequester interface {
	RequestSync(ctx context.Context, n Number, t SyncType) (requestID string, err error)
}

// EventsReader reads the delivery-status events of an outbound message.
type EventsReader interface {
	MessageHistoryIDs(ctx context.Context, n Number, wamid string) ([]string, error)
	MessageEvents(ctx context.Context, n Number, historyID string, q EventsQuery) ([]Event, error)
}

// ErrUnsupported is returned (wrapped) for an operation the upstream does not offer, such as
// the message history events through Positus.
var ErrUnsupported = errors.New("not supported by this provider")
