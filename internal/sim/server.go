package sim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sync types of smb_app_data.
const (
	SyncContacts = "smb_app_state_sync"
	SyncHistory  = "history"
)

// Error codes the simulator answers with.
const (
	CodeAlreadyRequested = 2593107 // the sync type was already requested for the number
	CodeOutsideWindow    = 2593108 // the request came more than 24 h after onboarding
)

// DefaultPositusSecretHeader carries the shared secret on webhooks forwarded by Positus
// (the header the application reads).
const DefaultPositusSecretHeader = "X-Coex-Webhook-Token"

// Defaults of ServerConfig.
const (
	DefaultRetryDelay  = 250 * time.Millisecond
	DefaultMaxAttempts = 5
	maxRetryDelay      = 5 * time.Second
)

// Faults switch on the misbehaviour the application must survive.
type Faults struct {
	OutOfOrder          bool // chunks in a seeded shuffled order; the progress-100 chunk is not last
	Duplicates          bool // about one body in five is delivered a second time, later
	Decline             bool // a history request gets only the 2593109 webhook
	Stall               bool // the history stops after about half of the chunks, before progress 100
	OutsideWindow       bool // sync requests answer 400 with code 2593108
	RateLimitFirst      int  // this many sync requests of a number answer 429 before one succeeds
	EventsRateLimitOnce bool // the first events request of a number answers 429
}

// ServerConfig configures a Server. Zero fields take defaults.
type ServerConfig struct {
	Numbers []Number
	// AcceptUnknownNumbers serves any phone_number_id (or Positus id) as a number with
	// derived display number and WABA id, instead of answering 400 code 100/33.
	AcceptUnknownNumbers bool
	History              HistoryConfig // Now defaults to the time NewServer runs, to the second
	Faults               Faults
	NumberFaults         map[string]Faults // by phone_number_id; replaces Faults for that number

	CallbackURL         string // Meta webhooks, signed with AppSecret
	PositusCallbackURL  string // webhooks of syncs requested through the Positus endpoints
	AppSecret           string
	PositusSecretHeader string // default DefaultPositusSecretHeader
	PositusSecret       string
	AccessToken         string // when set, the only bearer token accepted; otherwise any

	Pace        time.Duration // wait before each webhook
	RetryDelay  time.Duration // first back-off after a failed webhook POST; doubles; default DefaultRetryDelay
	MaxAttempts int           // webhook POST attempts per body; default DefaultMaxAttempts
	HTTP        *http.Client  // default a client with a 30 s timeout
	Logger      *slog.Logger  // default discards
}

// RequestLog is one API request the simulator answered.
type RequestLog struct {
	Method string
	Path   string
	Status int
}

// Delivery is one webhook body the simulator posted.
type Delivery struct {
	PhoneNumberID string
	Kind          string // contacts, chunk, media, declined
	URL           string
	Body          []byte
	Attempts      int
}

// Stats is what the simulator has seen and sent so far.
type Stats struct {
	Requests   []RequestLog // API requests in arrival order
	Delivered  []Delivery   // bodies the callback accepted (2xx), in order
	Failed     []Delivery   // bodies given up after MaxAttempts
	PostCount  int          // webhook POST attempts in all, retries included
	InProgress int          // deliveries (contacts or history runs) still running
}

// Server is the fake Graph API and Positus API. It is an http.Handler.
type Server struct {
	cfg    ServerConfig
	mux    *http.ServeMux
	log    *slog.Logger
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	numbers     map[string]Number // by phone_number_id
	positus     map[string]string // Positus id → phone_number_id
	order       []string          // phone_number_ids in configuration order
	histories   map[string]*lazyHistory
	requested   map[string]bool // phone_number_id + "|" + sync type
	limited     map[string]int  // 429 answers given per number
	eventsLimit map[string]bool
	traceSeq    int
	stats       Stats
}

type lazyHistory struct {
	once sync.Once
	h    *History
	err  error
}

// NewServer returns a simulator serving cfg.Numbers. Close stops its deliveries.
func NewServer(cfg ServerConfig) *Server {
	if cfg.History.Now.IsZero() {
		cfg.History.Now = time.Now().UTC().Truncate(time.Second)
	}
	if cfg.PositusSecretHeader == "" {
		cfg.PositusSecretHeader = DefaultPositusSecretHeader
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	client := cfg.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, log: log, client: client, ctx: ctx, cancel: cancel,
		numbers:     map[string]Number{},
		positus:     map[string]string{},
		histories:   map[string]*lazyHistory{},
		requested:   map[string]bool{},
		limited:     map[string]int{},
		eventsLimit: map[string]bool{},
	}
	for _, n := range cfg.Numbers {
		s.addNumber(n)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.mux.HandleFunc("POST /{version}/{pnid}/smb_app_data", s.metaSync)
	s.mux.HandleFunc("POST /v2/whatsapp/numbers/{pid}/onboarding-smb-app/{action}", s.positusSync)
	s.mux.HandleFunc("GET /{version}/{pnid}/message_history", s.messageHistory)
	s.mux.HandleFunc("GET /{version}/{hid}/events", s.events)
	s.mux.HandleFunc("GET /{version}/{pnid}", s.mediaOr(s.phoneNumber))
	s.mux.HandleFunc("GET /v2/whatsapp/numbers/{pid}/media-by-id/{mid}", s.positusMedia)
	s.mux.HandleFunc("GET /sim-media/{id}", s.mediaDownload)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.graphError(w, http.StatusBadRequest, graphError{Message: "Unknown path components: " + r.URL.Path, Type: "OAuthException", Code: 2500})
	})
	return s
}

// addNumber registers n; the caller holds mu or owns s exclusively.
func (s *Server) addNumber(n Number) Number {
	n = n.withDefaults()
	if _, ok := s.numbers[n.PhoneNumberID]; !ok {
		s.order = append(s.order, n.PhoneNumberID)
	}
	s.numbers[n.PhoneNumberID] = n
	if n.PositusID != "" {
		s.positus[n.PositusID] = n.PhoneNumberID
	}
	return n
}

// ServeHTTP answers the Graph API and Positus endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.mu.Lock()
	s.stats.Requests = append(s.stats.Requests, RequestLog{Method: r.Method, Path: r.URL.Path, Status: rec.status})
	s.mu.Unlock()
	s.log.Debug("sim request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Stats returns a copy of what the simulator has seen and sent.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = append([]RequestLog(nil), st.Requests...)
	st.Delivered = append([]Delivery(nil), st.Delivered...)
	st.Failed = append([]Delivery(nil), st.Failed...)
	return st
}

// History returns the generated history of a served number.
func (s *Server) History(phoneNumberID string) (*History, error) {
	s.mu.Lock()
	n, ok := s.numbers[phoneNumberID]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("history: unknown phone number id %q", phoneNumberID)
	}
	return s.historyOf(n)
}

func (s *Server) historyOf(n Number) (*History, error) {
	s.mu.Lock()
	lh, ok := s.histories[n.PhoneNumberID]
	if !ok {
		lh = &lazyHistory{}
		s.histories[n.PhoneNumberID] = lh
	}
	s.mu.Unlock()
	lh.once.Do(func() { lh.h, lh.err = Generate(n, s.cfg.History) })
	return lh.h, lh.err
}

// Wait blocks until every delivery started so far has ended.
func (s *Server) Wait() { s.wg.Wait() }

// Close stops the running deliveries and waits for them to end.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Server) faultsOf(pnid string) Faults {
	if f, ok := s.cfg.NumberFaults[pnid]; ok {
		return f
	}
	return s.cfg.Faults
}

// route says where the webhooks of a sync go.
type route int

const (
	viaMeta route = iota
	viaPositus
)

func (s *Server) metaSync(w http.ResponseWriter, r *http.Request) {
	if !s.checkVersion(w, r) || !s.authorized(w, r) {
		return
	}
	var body struct {
		MessagingProduct string `json:"messaging_product"`
		SyncType         string `json:"sync_type"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		s.graphError(w, http.StatusBadRequest, graphError{Message: "(#100) The request body is not valid JSON", Type: "OAuthException", Code: 100})
		return
	}
	if body.MessagingProduct != "whatsapp" {
		s.graphError(w, http.StatusBadRequest, graphError{Message: "(#100) The parameter messaging_product is required and must be whatsapp", Type: "OAuthException", Code: 100})
		return
	}
	if body.SyncType != SyncContacts && body.SyncType != SyncHistory {
		s.graphError(w, http.StatusBadRequest, graphError{Message: "(#100) Param sync_type must be one of {smb_app_state_sync, history}", Type: "OAuthException", Code: 100})
		return
	}
	n, ok := s.lookupNumber(r.PathValue("pnid"), viaMeta)
	if !ok {
		s.unknownObject(w, r.PathValue("pnid"))
		return
	}
	rid, ok := s.acceptSync(w, n, body.SyncType, viaMeta)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"messaging_product": "whatsapp", "request_id": rid})
}

func (s *Server) positusSync(w http.ResponseWriter, r *http.Request) {
	var syncType string
	switch r.PathValue("action") {
	case "sync-contacts":
		syncType = SyncContacts
	case "sync-message-history":
		syncType = SyncHistory
	default:
		s.writeJSON(w, http.StatusNotFound, map[string]string{"message": "not found"})
		return
	}
	if !s.authorized(w, r) {
		return
	}
	n, ok := s.lookupNumber(r.PathValue("pid"), viaPositus)
	if !ok {
		s.writeJSON(w, http.StatusNotFound, map[string]string{"message": "number not found"})
		return
	}
	rid, ok := s.acceptSync(w, n, syncType, viaPositus)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"request_id": rid})
}

// lookupNumber finds a served number by phone_number_id (Meta) or Positus id.
func (s *Server) lookupNumber(id string, via route) (Number, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if via == viaPositus {
		if pnid, ok := s.positus[id]; ok {
			return s.numbers[pnid], true
		}
		if s.cfg.AcceptUnknownNumbers && id != "" {
			return s.addNumber(Number{PhoneNumberID: id, PositusID: id}), true
		}
		return Number{}, false
	}
	if n, ok := s.numbers[id]; ok {
		return n, true
	}
	if s.cfg.AcceptUnknownNumbers && validGraphID(id) {
		return s.addNumber(Number{PhoneNumberID: id}), true
	}
	return Number{}, false
}

// acceptSync applies Meta's rules and the faults to a sync request; when accepted it starts
// the deliveries and returns the request id. Otherwise it has written the error answer.
func (s *Server) acceptSync(w http.ResponseWriter, n Number, syncType string, via route) (string, bool) {
	f := s.faultsOf(n.PhoneNumberID)
	key := n.PhoneNumberID + "|" + syncType
	s.mu.Lock()
	limited := s.limited[n.PhoneNumberID] < f.RateLimitFirst
	if limited {
		s.limited[n.PhoneNumberID]++
	}
	already := s.requested[key]
	accept := !limited && !already && !f.OutsideWindow
	if accept {
		s.requested[key] = true
	}
	s.mu.Unlock()
	switch {
	case limited:
		s.rateLimited(w)
		return "", false
	case f.OutsideWindow:
		s.graphError(w, http.StatusBadRequest, graphError{
			Message: "Synchronization request made outside of allowed time window", Type: "OAuthException", Code: CodeOutsideWindow,
			ErrorUserTitle: "Outside of allowed time window", ErrorUserMsg: "Data can only be synchronized within 24 hours of onboarding.",
			ErrorData: &graphErrorData{MessagingProduct: "whatsapp", Details: "Synchronization request made outside of allowed time window"},
		})
		return "", false
	case already:
		s.graphError(w, http.StatusBadRequest, graphError{
			Message: "Synchronization request limit exceeded", Type: "OAuthException", Code: CodeAlreadyRequested,
			ErrorUserTitle: "Synchronization request limit exceeded", ErrorUserMsg: "This data has already been synchronized for this phone number.",
			ErrorData: &graphErrorData{MessagingProduct: "whatsapp", Details: "The " + syncType + " sync was already requested for this phone number"},
		})
		return "", false
	}
	sum := sha256.Sum256([]byte("request|" + key))
	rid := hex.EncodeToString(sum[:10])
	s.log.Info("sim sync accepted", "phone_number_id", n.PhoneNumberID, "sync_type", syncType, "request_id", rid)
	s.startDelivery(n, syncType, via, f)
	return rid, true
}

func (s *Server) phoneNumber(w http.ResponseWriter, r *http.Request) {
	if !s.checkVersion(w, r) || !s.authorized(w, r) {
		return
	}
	n, ok := s.lookupNumber(r.PathValue("pnid"), viaMeta)
	if !ok {
		s.unknownObject(w, r.PathValue("pnid"))
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"display_phone_number": n.DisplayPhoneNumber, "is_on_biz_app": true, "platform_type": "CLOUD_API", "id": n.PhoneNumberID,
	})
}

// authorized checks the bearer token (or access_token query parameter); on failure it
// answers 401 code 190.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		s.graphError(w, http.StatusUnauthorized, graphError{Message: "Invalid OAuth access token - Cannot parse access token", Type: "OAuthException", Code: 190})
		return false
	}
	if s.cfg.AccessToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AccessToken)) != 1 {
		s.graphError(w, http.StatusUnauthorized, graphError{Message: "Invalid OAuth access token data.", Type: "OAuthException", Code: 190, ErrorSubcode: 463})
		return false
	}
	return true
}

// versionMajor parses a Graph API version such as "v25.0" into 25.
func versionMajor(v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, "v")
	if !ok {
		return 0, false
	}
	major, minor, ok := strings.Cut(rest, ".")
	if !ok || !digits(major) || !digits(minor) || major[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(major)
	return n, err == nil
}

func (s *Server) checkVersion(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := versionMajor(r.PathValue("version")); !ok {
		s.graphError(w, http.StatusBadRequest, graphError{Message: "Unknown path components: " + r.URL.Path, Type: "OAuthException", Code: 2500})
		return false
	}
	return true
}

func validGraphID(id string) bool { return len(id) <= 40 && digits(id) }

// digits reports whether s is a non-empty string of ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *Server) unknownObject(w http.ResponseWriter, id string) {
	s.graphError(w, http.StatusBadRequest, graphError{
		Message: fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id),
		Type:    "GraphMethodException", Code: 100, ErrorSubcode: 33,
	})
}

// rateLimited answers 429 with the body of Meta's application throttle.
func (s *Server) rateLimited(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	s.graphError(w, http.StatusTooManyRequests, graphError{
		Message: "(#4) Application request limit reached", Type: "OAuthException", Code: 4, ErrorSubcode: 2446079, IsTransient: true,
	})
}

func (s *Server) graphError(w http.ResponseWriter, status int, e graphError) {
	s.mu.Lock()
	s.traceSeq++
	seq := s.traceSeq
	s.mu.Unlock()
	sum := sha256.Sum256([]byte("trace|" + strconv.Itoa(seq)))
	e.FBTraceID = "A" + hex.EncodeToString(sum[:11])
	s.writeJSON(w, status, graphErrorBody{Error: e})
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("sim encode answer", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
