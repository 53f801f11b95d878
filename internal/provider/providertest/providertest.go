// Package providertest is a scripted fake of the upstream APIs the provider clients call:
// Meta's Graph API (smb_app_data, message_history, the events of a message history) and
// Positus's onboarding-smb-app calls, on one httptest server. Tests script its replies per
// route, tell it about the messages it knows, and read back every request it received.
//
// It is for unit tests of the clients and of the services built on them; the end-to-end
// tests use the simulator (internal/sim), which generates and delivers whole histories.
package providertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Route names the upstream endpoint a request was for.
type Route string

// The routes the fake tells apart. Any is not a route of a request: a script for Any
// answers the requests whose route has no script of its own.
const (
	Any            Route = "*"
	SyncContacts   Route = "smb_app_state_sync" // Meta smb_app_data with that sync_type, Positus sync-contacts
	SyncHistory    Route = "history"            // Meta smb_app_data with that sync_type, Positus sync-message-history
	MessageHistory Route = "message_history"    // Meta GET /{version}/{phone_number_id}/message_history
	Events         Route = "events"             // Meta GET /{version}/{message_history_id}/events
	Unknown        Route = ""                   // any other request
)

// Reply is one scripted answer.
type Reply struct {
	Status int               // 0 means 200
	Body   string            // sent as application/json unless Header sets a Content-Type
	Header map[string]string // extra response headers
	Delay  time.Duration     // wait before answering (or until the client gives up)
	HangUp bool              // close the connection without an answer
}

// Accepted is Meta's answer to an accepted sync request.
func Accepted(requestID string) Reply {
	return Reply{Status: http.StatusOK, Body: `{"messaging_product":"whatsapp","request_id":"` + requestID + `"}`}
}

// Bodies of the fake's own error answers.
const (
	InvalidTokenBody = `{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190,"error_subcode":463}}`
	NotFoundBody     = `{"error":{"message":"Message History not found","type":"GraphMethodException","code":803}}`
	UnknownPathBody  = `{"error":{"message":"Unknown path","type":"GraphMethodException","code":803}}`
)

// Call is one request the fake received.
type Call struct {
	Route       Route
	Method      string
	Path        string
	RawQuery    string
	Query       url.Values
	Auth        string // Authorization header
	Accept      string
	ContentType string
	Body        string
}

// Server is the fake upstream. A request is answered by the first that applies of:
//  1. a 401 when RequireToken was called and the request does not carry that token;
//  2. the next reply of Queue, whatever the route (each is used once);
//  3. the script of the request's route, else the script of Any: its replies in order,
//     the last one repeating;
//  4. what the fake knows: for a message told with Message, its message_history row and
//     its events page; otherwise 404.
type Server struct {
	URL string

	t        testing.TB
	mu       sync.Mutex
	token    string
	queue    []Reply
	scripts  map[Route][]Reply
	messages map[string]message // by phone_number_id + " " + wamid
	pages    map[string]string  // events page by message history id
	calls    []Call
}

type message struct{ historyID string }

// New starts a fake upstream that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, scripts: map[Route][]Reply{}, messages: map[string]message{}, pages: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// RequireToken makes every request without "Authorization: Bearer <token>" get Meta's
// invalid-token answer (401, code 190).
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Script sets the replies to the requests of route (Any: of every route without a script):
// one per request in order, the last one repeating. It replaces the route's earlier script.
func (s *Server) Script(route Route, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[route] = append([]Reply(nil), replies...)
}

// Queue adds replies answered before any script or known message, one per request in
// order, whatever the route; each is used once.
func (s *Server) Queue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Message makes the fake know an outbound message of phoneNumberID: message_history with
// message_id=wamid answers historyID, and the events of historyID answer eventsPage.
func (s *Server) Message(phoneNumberID, wamid, historyID, eventsPage string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages[phoneNumberID+" "+wamid] = message{historyID: historyID}
	s.pages[historyID] = eventsPage
}

// Calls returns the requests received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many requests were received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := Call{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
		Auth: r.Header.Get("Authorization"), Accept: r.Header.Get("Accept"),
		ContentType: r.Header.Get("Content-Type"), Body: string(body),
	}
	c.Route = routeOf(c)
	s.mu.Lock()
	s.calls = append(s.calls, c)
	rep := s.answer(c)
	s.mu.Unlock()
	s.write(w, r, rep)
}

// routeOf tells which endpoint a request was for.
func routeOf(c Call) Route {
	switch {
	case strings.HasSuffix(c.Path, "/smb_app_data"):
		var b struct {
			SyncType string `json:"sync_type"`
		}
		_ = json.Unmarshal([]byte(c.Body), &b)
		switch Route(b.SyncType) {
		case SyncContacts, SyncHistory:
			return Route(b.SyncType)
		}
	case strings.HasSuffix(c.Path, "/onboarding-smb-app/sync-contacts"):
		return SyncContacts
	case strings.HasSuffix(c.Path, "/onboarding-smb-app/sync-message-history"):
		return SyncHistory
	case strings.HasSuffix(c.Path, "/message_history"):
		return MessageHistory
	case strings.HasSuffix(c.Path, "/events"):
		return Events
	}
	return Unknown
}

// answer picks the reply to c; the caller holds the lock.
func (s *Server) answer(c Call) Reply {
	if s.token != "" && c.Auth != "Bearer "+s.token {
		return Reply{Status: http.StatusUnauthorized, Body: InvalidTokenBody}
	}
	if len(s.queue) > 0 {
		rep := s.queue[0]
		s.queue = s.queue[1:]
		return rep
	}
	for _, route := range []Route{c.Route, Any} {
		if script := s.scripts[route]; len(script) > 0 {
			if len(script) > 1 {
				s.scripts[route] = script[1:]
			}
			return script[0]
		}
	}
	parts := strings.Split(strings.Trim(c.Path, "/"), "/")
	switch {
	case c.Route == MessageHistory && len(parts) >= 2:
		m, ok := s.messages[parts[len(parts)-2]+" "+c.Query.Get("message_id")]
		if !ok {
			return Reply{Status: http.StatusNotFound, Body: NotFoundBody}
		}
		return Reply{Body: `{"data":[{"id":"` + m.historyID + `","message_id":"` + c.Query.Get("message_id") + `"}]}`}
	case c.Route == Events && len(parts) >= 2:
		page, ok := s.pages[parts[len(parts)-2]]
		if !ok {
			return Reply{Status: http.StatusNotFound, Body: NotFoundBody}
		}
		return Reply{Body: page}
	}
	return Reply{Status: http.StatusNotFound, Body: UnknownPathBody}
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, rep Reply) {
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.HangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			s.t.Errorf("providertest: hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	if rep.Body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}
