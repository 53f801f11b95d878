package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// DefaultPositusBaseURL is Positus's API host (the client adds /v2).
const DefaultPositusBaseURL = "https://api.positus.global"

// PositusConfig configures the Positus client. Zero fields take defaults.
type PositusConfig struct {
	BaseURL string       // default DefaultPositusBaseURL; a trailing "/v2" is accepted
	HTTP    *http.Client // default a plain client (the per-attempt timeout bounds each call)
	Retry   RetryPolicy  // default DefaultRetryPolicy
	Logger  *slog.Logger // default discards
}

// Positus is the client of Positus, a BSP that wraps Meta's sync call for its numbers.
type Positus struct {
	base string
	c    caller
}

// NewPositus returns a Positus client.
func NewPositus(cfg PositusConfig) *Positus {
	base := strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v2")
	if base == "" {
		base = DefaultPositusBaseURL
	}
	return &Positus{base: base, c: newCaller("positus", cfg.HTTP, cfg.Retry, cfg.Logger)}
}

// RequestSync asks Positus to start one sync step of n (by its Positus number id):
// POST /v2/whatsapp/numbers/{id}/onboarding-smb-app/sync-contacts or .../sync-message-history
// with an empty JSON object. Positus does not document the answer; the request_id is taken
// from its top level or from "data" when present, else it is "". Errors Positus passes on from
// Meta decode into GraphAPIError like Meta's own.
func (p *Positus) RequestSync(ctx context.Context, n Number, t SyncType) (string, error) {
	op := "request " + string(t) + " sync"
	var action string
	switch t {
	case SyncContacts:
		action = "sync-contacts"
	case SyncHistory:
		action = "sync-message-history"
	default:
		return "", fmt.Errorf("%s: unknown sync type %q", op, string(t))
	}
	id, err := pathSegment("Positus number id", n.ProviderNumberID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if n.AccessToken == "" {
		return "", fmt.Errorf("%s: the number has no access token", op)
	}
	url := p.base + "/v2/whatsapp/numbers/" + id + "/onboarding-smb-app/" + action
	data, err := p.c.do(ctx, call{op: op, method: http.MethodPost, url: url, body: []byte("{}"), token: n.AccessToken})
	if err != nil {
		return "", err
	}
	rid, _ := requestID(data)
	return rid, nil
}

// MessageHistoryIDs is not offered by Positus; the error wraps ErrUnsupported.
func (p *Positus) MessageHistoryIDs(context.Context, Number, string) ([]string, error) {
	return nil, fmt.Errorf("message history ids: Positus has no message history API: %w", ErrUnsupported)
}

// MessageEvents is not offered by Positus; the error wraps ErrUnsupported.
func (p *Positus) MessageEvents(context.Context, Number, string, EventsQuery) ([]Event, error) {
	return nil, fmt.Errorf("message events: Positus has no message history events API: %w", ErrUnsupported)
}
