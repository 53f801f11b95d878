package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Defaults of MetaConfig.
const (
	DefaultGraphBaseURL = "https://graph.facebook.com"
	DefaultGraphVersion = "v25.0"
	DefaultMaxPages     = 50
)

// MetaConfig configures the Graph API client. Zero fields take defaults.
type MetaConfig struct {
	BaseURL  string       // default DefaultGraphBaseURL
	Version  string       // Graph API version such as "v25.0"; default DefaultGraphVersion
	HTTP     *http.Client // default a plain client (the per-attempt timeout bounds each call)
	Retry    RetryPolicy  // default DefaultRetryPolicy
	Logger   *slog.Logger // default discards
	MaxPages int          // pages one listing follows at most; default DefaultMaxPages
}

// Meta is the client of Meta's Graph API for Coexistence numbers.
type Meta struct {
	base     string
	version  string
	major    int // major version number; 0 when the version does not parse
	maxPages int
	c        caller
}

// NewMeta returns a Graph API client.
func NewMeta(cfg MetaConfig) *Meta {
	m := &Meta{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		version:  strings.Trim(cfg.Version, "/"),
		maxPages: cfg.MaxPages,
		c:        newCaller("meta", cfg.HTTP, cfg.Retry, cfg.Logger),
	}
	if m.base == "" {
		m.base = DefaultGraphBaseURL
	}
	if m.version == "" {
		m.version = DefaultGraphVersion
	}
	if m.maxPages <= 0 {
		m.maxPages = DefaultMaxPages
	}
	m.major, _ = majorVersion(m.version)
	return m
}

// RequestSync asks Meta to send the contacts (SyncContacts) or the chat history (SyncHistory)
// of n: POST /{version}/{phone_number_id}/smb_app_data. It returns Meta's request_id. Meta
// accepts each sync type once per number and only within 24 h of onboarding; the error then
// is a GraphAPIError of kind KindAlreadyRequested or KindOutsideWindow. A 2xx answer means
// the request was accepted, even if its body cannot be read (the id is "" then).
func (m *Meta) RequestSync(ctx context.Context, n Number, t SyncType) (string, error) {
	op := "request " + string(t) + " sync"
	if !t.Valid() {
		return "", fmt.Errorf("%s: unknown sync type %q", op, string(t))
	}
	pnid, err := pathSegment("phone number id", n.PhoneNumberID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if n.AccessToken == "" {
		return "", fmt.Errorf("%s: the number has no access token", op)
	}
	body, err := json.Marshal(struct {
		MessagingProduct string `json:"messaging_product"`
		SyncType         string `json:"sync_type"`
	}{"whatsapp", string(t)})
	if err != nil {
		return "", fmt.Errorf("%s: encode body: %w", op, err)
	}
	data, err := m.c.do(ctx, call{op: op, method: http.MethodPost, url: m.url(pnid, "smb_app_data"), body: body, token: n.AccessToken})
	if err != nil {
		return "", err
	}
	id, ok := requestID(data)
	if !ok {
		m.c.log.WarnContext(ctx, "sync accepted without a request_id", "provider", "meta", "op", op)
	}
	return id, nil
}

// MessageHistoryIDs returns the Message-History-ID(s) of the message wamid:
// GET /{version}/{phone_number_id}/message_history?message_id={wamid}&fields=id,message_id.
// A message Meta has no history for gives a GraphAPIError of kind KindNotFound.
func (m *Meta) MessageHistoryIDs(ctx context.Context, n Number, wamid string) ([]string, error) {
	const op = "message history ids"
	pnid, err := pathSegment("phone number id", n.PhoneNumberID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if wamid == "" {
		return nil, fmt.Errorf("%s: the message id is empty", op)
	}
	if n.AccessToken == "" {
		return nil, fmt.Errorf("%s: the number has no access token", op)
	}
	q := url.Values{"message_id": {wamid}, "fields": {"id,message_id"}}
	var ids []string
	seen := map[string]bool{}
	err = m.eachPage(ctx, op, n.AccessToken, m.url(pnid, "message_history"), q, func(data json.RawMessage) error {
		var rows []struct {
			ID        string `json:"id"`
			MessageID string `json:"message_id"`
		}
		if err := json.Unmarshal(data, &rows); err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == "" || seen[r.ID] || (r.MessageID != "" && r.MessageID != wamid) {
				continue
			}
			seen[r.ID] = true
			ids = append(ids, r.ID)
		}
		return nil
	})
	return ids, err
}

// MessageEvents returns the delivery-status events of one Message-History-ID, all pages:
// GET /{version}/{message_history_id}/events. The status filter is sent as status_filter up
// to v23 and as delivery_status from v24 on; webhook_update_state and webhook_uri are asked
// for from v24 on. Unknown enum values are kept as they are.
func (m *Meta) MessageEvents(ctx context.Context, n Number, historyID string, q EventsQuery) ([]Event, error) {
	const op = "message events"
	hid, err := pathSegment("message history id", historyID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if n.AccessToken == "" {
		return nil, fmt.Errorf("%s: the number has no access token", op)
	}
	limit := q.Limit
	if limit == 0 {
		limit = MaxEventsLimit
	}
	if limit < 1 || limit > MaxEventsLimit {
		return nil, fmt.Errorf("%s: limit %d is outside 1-%d", op, q.Limit, MaxEventsLimit)
	}
	params := url.Values{"fields": {m.eventFields()}, "limit": {strconv.Itoa(limit)}}
	if q.Status != "" {
		params.Set(m.StatusFilterParam(), string(q.Status))
	}
	var events []Event
	err = m.eachPage(ctx, op, n.AccessToken, m.base+"/"+m.version+"/"+hid+"/events", params, func(data json.RawMessage) error {
		var rows []struct {
			Node eventNode `json:"node"`
		}
		if err := json.Unmarshal(data, &rows); err != nil {
			return err
		}
		for _, r := range rows {
			events = append(events, r.Node.event())
		}
		return nil
	})
	return events, err
}

// StatusFilterParam is the name of the events status filter for the configured version.
func (m *Meta) StatusFilterParam() string {
	if m.legacyEvents() {
		return "status_filter"
	}
	return "delivery_status"
}

// legacyEvents reports whether the version is v23 or older. A version that does not parse
// is taken as current.
func (m *Meta) legacyEvents() bool { return m.major > 0 && m.major < 24 }

func (m *Meta) eventFields() string {
	node := "id,delivery_status,error_description,occurrence_timestamp,status_timestamp,application"
	if !m.legacyEvents() {
		node += ",webhook_update_state,webhook_uri"
	}
	return "cursor,node{" + node + "}"
}

// url is {base}/{version}/{id}/{edge}; id is already escaped.
func (m *Meta) url(id, edge string) string {
	return m.base + "/" + m.version + "/" + id + "/" + edge
}

// listPage is one page of a Graph API listing.
type listPage struct {
	Data   json.RawMessage `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

// eachPage GETs endpoint with q and hands each page's data to fn, following
// paging.cursors.after while paging.next is present. It stops at a repeated cursor and after
// maxPages pages. paging.next itself is never called: it may carry credentials.
func (m *Meta) eachPage(ctx context.Context, op, token, endpoint string, q url.Values, fn func(json.RawMessage) error) error {
	seen := map[string]bool{}
	for page := 1; ; page++ {
		data, err := m.c.do(ctx, call{op: op, method: http.MethodGet, url: endpoint + "?" + q.Encode(), token: token})
		if err != nil {
			return err
		}
		var p listPage
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("%s: decode page %d: %w", op, page, err)
		}
		if len(p.Data) > 0 && string(p.Data) != "null" {
			if err := fn(p.Data); err != nil {
				return fmt.Errorf("%s: decode page %d: %w", op, page, err)
			}
		}
		after := p.Paging.Cursors.After
		switch {
		case p.Paging.Next == "" || after == "":
			return nil
		case seen[after]:
			m.c.log.WarnContext(ctx, "listing repeated a cursor; stopping", "provider", "meta", "op", op, "page", page)
			return nil
		case page >= m.maxPages:
			m.c.log.WarnContext(ctx, "listing has more pages than allowed; stopping", "provider", "meta", "op", op, "pages", page)
			return nil
		}
		seen[after] = true
		q.Set("after", after)
	}
}

// majorVersion parses "v25.0" (or "25.0", "v25") into 25.
func majorVersion(v string) (int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// pathSegment checks an id that goes into a URL path and escapes it.
func pathSegment(what, id string) (string, error) {
	switch strings.TrimSpace(id) {
	case "":
		return "", fmt.Errorf("the %s is empty", what)
	case ".", "..":
		return "", fmt.Errorf("the %s %q is not valid", what, id)
	}
	return url.PathEscape(id), nil
}

// requestID finds request_id at the top of a JSON answer or under "data"; ok is false when
// there is none.
func requestID(body []byte) (string, bool) {
	var top struct {
		RequestID json.RawMessage `json:"request_id"`
		Data      json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &top) != nil {
		return "", false
	}
	if id, ok := idValue(top.RequestID); ok {
		return id, true
	}
	var data struct {
		RequestID json.RawMessage `json:"request_id"`
	}
	if json.Unmarshal(top.Data, &data) == nil {
		return idValue(data.RequestID)
	}
	return "", false
}

// idValue reads an id sent as a JSON string or number.
func idValue(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s, true
	}
	var num json.Number
	if json.Unmarshal(raw, &num) == nil && num != "" {
		return num.String(), true
	}
	return "", false
}
