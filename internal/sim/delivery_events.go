package sim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Message History API defaults.
const (
	defaultPageLimit = 25
	maxPageLimit     = 100
	// EventsApplicationID and EventsApplicationName describe the app named in events.
	EventsApplicationID   = "1029384756473829"
	EventsApplicationName = "WhatsApp Business app"
	// eventsErrorDescription is the error_description of a failed message's last event.
	eventsErrorDescription = "(#131026) Message undeliverable: the recipient's phone could not be reached"
	defaultWebhookURI      = "https://example.invalid/webhooks/whatsapp"
)

// statusFilterParam is the name of the events status filter in a Graph API version:
// status_filter up to v23, delivery_status from v24 on.
func statusFilterParam(major int) string {
	if major <= 23 {
		return "status_filter"
	}
	return "delivery_status"
}

// deliveryStatuses are the delivery_status values a version knows.
func deliveryStatuses(major int) []string {
	if major <= 23 {
		return []string{"SENT", "DELIVERED", "READ", "FAILED", "DELETED"}
	}
	return []string{"ACCEPTED", "DELIVERED", "ERROR", "READ", "SENT"}
}

// Event is one delivery-status event of a generated outbound message.
type Event struct {
	ID                  string
	DeliveryStatus      string
	ErrorDescription    string
	OccurrenceTimestamp int64
	StatusTimestamp     int64
	WebhookUpdateState  string // v25 and later
}

// EventsOf returns the delivery-status events of an outbound message as the events API of
// Graph API version major reports them: SENT, then DELIVERED and READ as far as the
// message's final status got (PLAYED counts as READ); a failed message has SENT then ERROR
// (FAILED up to v23) with an error description. Times are derived from the wamid, so they
// are the same on every call. Inbound messages have no events.
func EventsOf(m MessageRecord, major int) []Event {
	if !m.Outbound {
		return nil
	}
	h := func(part string, n uint64) int64 { return int64(hash64(m.ID, part) % n) }
	id := func(step string) string { return strconv.FormatUint(7e15+hash64(m.HistoryID, step)%1e15, 10) }
	// One message in seven had its DELIVERED status webhook fail.
	webhookFailed := hash64(m.ID, "webhook")%7 == 0
	state := func(status string) string {
		if major < 25 {
			return ""
		}
		if status == "DELIVERED" && webhookFailed {
			return "ERROR"
		}
		return "SUCCESS"
	}
	sent := m.Timestamp
	out := []Event{{ID: id("sent"), DeliveryStatus: "SENT", OccurrenceTimestamp: sent, StatusTimestamp: sent + 1 + h("sent", 3), WebhookUpdateState: state("SENT")}}
	final := strings.ToUpper(m.Status)
	if final == "ERROR" || final == "FAILED" {
		status := "ERROR"
		if major <= 23 {
			status = "FAILED"
		}
		at := sent + 1 + h("error", 30)
		return append(out, Event{ID: id("error"), DeliveryStatus: status, ErrorDescription: eventsErrorDescription,
			OccurrenceTimestamp: at, StatusTimestamp: at + 1, WebhookUpdateState: state(status)})
	}
	if final != "DELIVERED" && final != "READ" && final != "PLAYED" {
		return out
	}
	delivered := sent + 1 + h("delivered", 90)
	out = append(out, Event{ID: id("delivered"), DeliveryStatus: "DELIVERED", OccurrenceTimestamp: delivered,
		StatusTimestamp: delivered + 1, WebhookUpdateState: state("DELIVERED")})
	if final == "DELIVERED" {
		return out
	}
	read := delivered + 20 + h("read", 8*3600)
	return append(out, Event{ID: id("read"), DeliveryStatus: "READ", OccurrenceTimestamp: read,
		StatusTimestamp: read + 1, WebhookUpdateState: state("READ")})
}

// messageHistory answers GET /{version}/{phone_number_id}/message_history: the
// Message-History-ID of one outbound message (message_id=wamid), or of all of them, paged.
func (s *Server) messageHistory(w http.ResponseWriter, r *http.Request) {
	if !s.checkVersion(w, r) || !s.authorized(w, r) {
		return
	}
	n, ok := s.lookupNumber(r.PathValue("pnid"), viaMeta)
	if !ok {
		s.unknownObject(w, r.PathValue("pnid"))
		return
	}
	h, err := s.historyOf(n)
	if err != nil {
		s.internalError(w, err)
		return
	}
	q := r.URL.Query()
	if wamid := q.Get("message_id"); wamid != "" {
		m, ok := h.Message(wamid)
		if !ok || !m.Outbound {
			s.notFound(w)
			return
		}
		s.writeJSON(w, http.StatusOK, historyIDPage{Data: []historyIDRow{{ID: m.HistoryID, MessageID: m.ID}}})
		return
	}
	var rows []historyIDRow
	for _, m := range h.Messages {
		if m.Outbound {
			rows = append(rows, historyIDRow{ID: m.HistoryID, MessageID: m.ID})
		}
	}
	pg, ok := s.paginate(w, r, len(rows), "mh:"+n.PhoneNumberID)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, historyIDPage{Data: nonNil(rows[pg.start:pg.end]), Paging: pg.paging})
}

// events answers GET /{version}/{message_history_id}/events.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if !s.checkVersion(w, r) || !s.authorized(w, r) {
		return
	}
	major, _ := versionMajor(r.PathValue("version"))
	hid := r.PathValue("hid")
	n, m, ok := s.findHistoryID(hid)
	if !ok {
		s.notFound(w)
		return
	}
	if s.faultsOf(n.PhoneNumberID).EventsRateLimitOnce {
		s.mu.Lock()
		first := !s.eventsLimit[n.PhoneNumberID]
		s.eventsLimit[n.PhoneNumberID] = true
		s.mu.Unlock()
		if first {
			s.rateLimited(w)
			return
		}
	}
	q := r.URL.Query()
	param := statusFilterParam(major)
	other := statusFilterParam(24)
	if param == other {
		other = statusFilterParam(23)
	}
	if q.Has(other) {
		s.graphError(w, http.StatusBadRequest, graphError{
			Message: "(#100) Param " + other + " is not valid in " + r.PathValue("version") + "; the status filter is " + param,
			Type:    "OAuthException", Code: 100,
		})
		return
	}
	filter := strings.ToUpper(strings.TrimSpace(q.Get(param)))
	if q.Has(param) && !slices.Contains(deliveryStatuses(major), filter) {
		s.graphError(w, http.StatusBadRequest, graphError{
			Message: "(#100) Invalid status filter: " + param + " must be one of " + strings.Join(deliveryStatuses(major), ", "),
			Type:    "OAuthException", Code: 100,
		})
		return
	}
	var list []Event
	for _, e := range EventsOf(m, major) {
		if filter == "" || e.DeliveryStatus == filter {
			list = append(list, e)
		}
	}
	pg, ok := s.paginate(w, r, len(list), "ev:"+hid)
	if !ok {
		return
	}
	fields := eventFields(q.Get("fields"), major)
	uri := s.cfg.CallbackURL
	if uri == "" {
		uri = defaultWebhookURI
	}
	data := make([]eventEdge, 0, pg.end-pg.start)
	for i := pg.start; i < pg.end; i++ {
		e := list[i]
		node := eventNode{ID: e.ID, DeliveryStatus: e.DeliveryStatus, OccurrenceTimestamp: e.OccurrenceTimestamp}
		if fields["error_description"] {
			node.ErrorDescription = e.ErrorDescription
		}
		if fields["status_timestamp"] {
			node.StatusTimestamp = e.StatusTimestamp
		}
		if fields["application"] {
			node.Application = &eventApp{ID: EventsApplicationID, Name: EventsApplicationName}
		}
		if fields["webhook_update_state"] {
			node.WebhookUpdateState = e.WebhookUpdateState
		}
		if fields["webhook_uri"] && e.WebhookUpdateState != "" {
			node.WebhookURI = uri
		}
		data = append(data, eventEdge{Cursor: cursor("ev:"+hid, i), Node: node})
	}
	s.writeJSON(w, http.StatusOK, eventsPage{Data: data, Paging: pg.paging})
}

// eventFields lists the optional node fields asked for. Without a fields parameter Graph
// returns only id, delivery_status and occurrence_timestamp; webhook_update_state and
// webhook_uri exist from v25 on.
func eventFields(param string, major int) map[string]bool {
	out := map[string]bool{}
	for _, f := range []string{"error_description", "status_timestamp", "application", "webhook_update_state", "webhook_uri"} {
		if strings.Contains(param, f) {
			out[f] = true
		}
	}
	if major < 25 {
		delete(out, "webhook_update_state")
		delete(out, "webhook_uri")
	}
	return out
}

// findHistoryID finds the outbound message with a Message-History-ID among all numbers.
func (s *Server) findHistoryID(hid string) (Number, MessageRecord, bool) {
	s.mu.Lock()
	numbers := make([]Number, 0, len(s.order))
	for _, id := range s.order {
		numbers = append(numbers, s.numbers[id])
	}
	s.mu.Unlock()
	for _, n := range numbers {
		h, err := s.historyOf(n)
		if err != nil {
			continue
		}
		if m, ok := h.MessageByHistoryID(hid); ok {
			return n, m, true
		}
	}
	return Number{}, MessageRecord{}, false
}

type pageWindow struct {
	start, end int
	paging     *paging
}

// paginate applies limit, after and before to a list of total items. Cursors are opaque
// strings naming an index of the list. On a bad parameter it answers 400 code 100.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, total int, scope string) (pageWindow, bool) {
	q := r.URL.Query()
	limit := defaultPageLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			s.graphError(w, http.StatusBadRequest, graphError{Message: "(#100) Param limit must be an integer between 1 and 100", Type: "OAuthException", Code: 100})
			return pageWindow{}, false
		}
		limit = n
	}
	start, end := 0, min(limit, total)
	bad := func(name string) (pageWindow, bool) {
		s.graphError(w, http.StatusBadRequest, graphError{Message: "(#100) Invalid " + name + " cursor", Type: "OAuthException", Code: 100})
		return pageWindow{}, false
	}
	switch {
	case q.Get("after") != "":
		i, ok := parseCursor(scope, q.Get("after"))
		if !ok || i >= total {
			return bad("after")
		}
		start, end = i+1, min(i+1+limit, total)
	case q.Get("before") != "":
		i, ok := parseCursor(scope, q.Get("before"))
		if !ok || i > total {
			return bad("before")
		}
		start, end = max(0, i-limit), i
	}
	pg := pageWindow{start: start, end: end}
	if start >= end {
		return pg, true
	}
	pg.paging = &paging{Cursors: pagingCursors{Before: cursor(scope, start), After: cursor(scope, end-1)}}
	if end < total {
		pg.paging.Next = pageURL(r, "after", pg.paging.Cursors.After)
	}
	if start > 0 {
		pg.paging.Previous = pageURL(r, "before", pg.paging.Cursors.Before)
	}
	return pg, true
}

func cursor(scope string, i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(scope + "|" + strconv.Itoa(i)))
}

func parseCursor(scope, c string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), scope+"|")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// pageURL is the request's URL with one cursor parameter set and the other removed. An
// access_token in the query is dropped.
func pageURL(r *http.Request, name, value string) string {
	q := r.URL.Query()
	q.Del("after")
	q.Del("before")
	q.Del("access_token")
	q.Set(name, value)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

func (s *Server) notFound(w http.ResponseWriter) {
	s.graphError(w, http.StatusNotFound, graphError{Message: "(#803) Message History not found", Type: "GraphMethodException", Code: 803})
}

func (s *Server) internalError(w http.ResponseWriter, err error) {
	s.log.Error("sim internal error", "err", err)
	s.graphError(w, http.StatusInternalServerError, graphError{Message: "An unexpected error has occurred. Please retry your request later.", Type: "GraphMethodException", Code: 2, IsTransient: true})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
