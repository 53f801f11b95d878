package provider

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// MaxEventsLimit is the largest page size the events API accepts (and the default).
const MaxEventsLimit = 100

// EventsQuery narrows MessageEvents.
type EventsQuery struct {
	Status DeliveryStatus // only events with this delivery status; "" for all
	Limit  int            // page size, 1-100; 0 means 100
}

// DeliveryStatus is a message's delivery status as the events API reports it. The versions
// disagree on the values (v23: SENT, DELIVERED, READ, FAILED, DELETED; v24+: ACCEPTED,
// DELIVERED, ERROR, READ, SENT); values not listed here are kept as they come.
type DeliveryStatus string

// Delivery statuses known from Meta's documentation.
const (
	StatusAccepted  DeliveryStatus = "ACCEPTED"
	StatusSent      DeliveryStatus = "SENT"
	StatusDelivered DeliveryStatus = "DELIVERED"
	StatusRead      DeliveryStatus = "READ"
	StatusFailed    DeliveryStatus = "FAILED"
	StatusDeleted   DeliveryStatus = "DELETED"
	StatusError     DeliveryStatus = "ERROR"
)

// Known reports whether s is one of the documented values.
func (s DeliveryStatus) Known() bool {
	switch s {
	case StatusAccepted, StatusSent, StatusDelivered, StatusRead, StatusFailed, StatusDeleted, StatusError:
		return true
	}
	return false
}

// WebhookUpdateState is how the status webhook of an event was delivered (v24+ only). v23
// documents PENDING, DELIVERED, FAILED, RETRYING and v25 ERROR, SUCCESS; unknown values are kept.
type WebhookUpdateState string

// Webhook update states known from Meta's documentation.
const (
	WebhookPending   WebhookUpdateState = "PENDING"
	WebhookDelivered WebhookUpdateState = "DELIVERED"
	WebhookFailed    WebhookUpdateState = "FAILED"
	WebhookRetrying  WebhookUpdateState = "RETRYING"
	WebhookError     WebhookUpdateState = "ERROR"
	WebhookSuccess   WebhookUpdateState = "SUCCESS"
)

// Event is one delivery-status event of a message.
type Event struct {
	ID                  string
	DeliveryStatus      DeliveryStatus
	ErrorDescription    string
	OccurrenceTimestamp int64 // Unix seconds; when it happened
	StatusTimestamp     int64 // Unix seconds; when the status was recorded (0 if absent)
	ApplicationID       string
	ApplicationName     string
	WebhookUpdateState  WebhookUpdateState // "" before v24
	WebhookURI          string             // "" before v24
}

// eventNode is data[].node of the events answer.
type eventNode struct {
	ID                  string    `json:"id"`
	DeliveryStatus      string    `json:"delivery_status"`
	ErrorDescription    string    `json:"error_description"`
	OccurrenceTimestamp flexInt64 `json:"occurrence_timestamp"`
	StatusTimestamp     flexInt64 `json:"status_timestamp"`
	Application         struct {
		ID   json.RawMessage `json:"id"`
		Name string          `json:"name"`
	} `json:"application"`
	WebhookUpdateState string `json:"webhook_update_state"`
	WebhookURI         string `json:"webhook_uri"`
}

func (n eventNode) event() Event {
	appID, _ := idValue(n.Application.ID)
	return Event{
		ID:                  n.ID,
		DeliveryStatus:      DeliveryStatus(n.DeliveryStatus),
		ErrorDescription:    n.ErrorDescription,
		OccurrenceTimestamp: int64(n.OccurrenceTimestamp),
		StatusTimestamp:     int64(n.StatusTimestamp),
		ApplicationID:       appID,
		ApplicationName:     n.Application.Name,
		WebhookUpdateState:  WebhookUpdateState(n.WebhookUpdateState),
		WebhookURI:          n.WebhookURI,
	}
}

// flexInt64 accepts a number or a numeric string (Graph sends both in places).
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt64(n)
	return nil
}
