package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"coexhistory/internal/auth"
	"coexhistory/internal/events"
	"coexhistory/internal/proxies"
	"coexhistory/internal/registry"
	"coexhistory/internal/search"
	"coexhistory/internal/store"
	"coexhistory/internal/syncer"
	"coexhistory/models"
)

// AuthService signs staff in and checks sessions and tokens.
type AuthService interface {
	Login(ctx context.Context, email, password, remoteIP string) (string, auth.Principal, error)
	Logout(ctx context.Context, p auth.Principal, remoteIP string) error
	Session(ctx context.Context, cookie string) (auth.Principal, error)
	PassiveSession(ctx context.Context, cookie string) (auth.Principal, error)
	Token(ctx context.Context, value string) (auth.Principal, error)
	CreateUser(ctx context.Context, email, password, role string) (models.User, error)
	CreateTokenFor(ctx context.Context, p auth.Principal, name, role string) (string, models.APIToken, error)
	DisableUser(ctx context.Context, a auth.Actor, id uint64) (models.User, error)
	EnableUser(ctx context.Context, a auth.Actor, id uint64) (models.User, error)
	DeleteUser(ctx context.Context, a auth.Actor, id uint64) (models.User, error)
	SetRole(ctx context.Context, a auth.Actor, id uint64, role string) (models.User, error)
	AdminResetPassword(ctx context.Context, a auth.Actor, id uint64) (string, models.User, error)
	EndSessions(ctx context.Context, a auth.Actor, id uint64) (int64, error)
	ChangePassword(ctx context.Context, p auth.Principal, current, next, confirm, remoteIP string) error
	SignOutEverywhere(ctx context.Context, p auth.Principal, remoteIP string) error
}

// InFlightMarker marks an authenticated webhook being received until end is called, so that
// background ingest lets it go first (ingest.Pacer).
type InFlightMarker interface {
	Begin() (end func())
}

// AccountEvents reads the account_update events kept for a number, newest first.
type AccountEvents interface {
	AccountEvents(ctx context.Context, pnid string, limit int) ([]models.AccountEvent, error)
}

// NumberService is the business number registry.
type NumberService interface {
	List(ctx context.Context) ([]models.BusinessNumber, error)
	Get(ctx context.Context, id uint64) (models.BusinessNumber, error)
	Create(ctx context.Context, a registry.Actor, in registry.Input) (models.BusinessNumber, error)
	Update(ctx context.Context, a registry.Actor, id uint64, in registry.Input) (models.BusinessNumber, error)
	Delete(ctx context.Context, a registry.Actor, id uint64) error
}

// Overview reads the counts and sync runs shown next to each number.
type Overview interface {
	CountsByNumber(ctx context.Context) (map[string]store.NumberCounts, error)
	SyncRuns(ctx context.Context) (map[string]models.SyncRun, error)
}

// AdminStore reads and writes what the admin pages show.
type AdminStore interface {
	ListAudit(ctx context.Context, f store.AuditFilter) ([]models.AuditEntry, error)
	Audit(ctx context.Context, e models.AuditEntry) error
	ListUsers(ctx context.Context) ([]models.User, error)
	ListAPITokens(ctx context.Context) ([]models.APIToken, error)
	DeleteAPIToken(ctx context.Context, id uint64) (models.APIToken, error)
}

// Health checks the database.
type Health interface {
	Ping(ctx context.Context) error
	CheckSchema(ctx context.Context) error
	CheckWrite(ctx context.Context, instance string) error // a real write, in its own transaction
}

// Inbox keeps raw webhook bodies.
type Inbox interface {
	InsertInbox(ctx context.Context, source string, body []byte) (id uint64, duplicate bool, err error)
}

// Timelines builds the delivery timeline of a message.
type Timelines interface {
	Timeline(ctx context.Context, pnid, wamid string, opts events.Options) (events.Timeline, error)
}

// ThreadReader reads conversations and their messages.
type ThreadReader interface {
	ListThreads(ctx context.Context, f store.ThreadFilter) (store.ThreadPage, error)
	GetThread(ctx context.Context, id uint64) (models.Thread, error)
	ThreadMessages(ctx context.Context, threadID uint64, p store.MessagePage) (store.MessageList, error)
	ReactionsFor(ctx context.Context, phoneNumberID string, wamids []string) (map[string][]store.Reaction, error)
	EditsOf(ctx context.Context, phoneNumberID string, wamids []string) (map[string][]store.Edit, error)
	ChangedMessages(ctx context.Context, threadID uint64, from, upTo string, since time.Time, limit int) ([]store.ThreadMessage, error)
	MessageByWAMID(ctx context.Context, phoneNumberID, wamid string) (models.Message, error)
}

// MessageSearch finds messages by their text and by filters.
type MessageSearch interface {
	Search(ctx context.Context, p search.Params) (search.Page, error)
}

// Deps are the services the handlers use; internal/server creates them.
type Deps struct {
	Logger        *slog.Logger
	Auth          AuthService
	Numbers       NumberService
	Overview      Overview
	Admin         AdminStore
	Health        Health
	Inbox         Inbox
	InboxAdmin    InboxAdmin
	Events        Timelines
	Threads       ThreadReader
	Search        MessageSearch
	Sync          SyncRequester
	SyncProgress  SyncProgress
	Preferences   Preferences    // per-user time zone, language, last look at the conversations
	Conversations Conversations  // previews of the conversations list
	WebhookHealth WebhookHealth  // the admins' health overview
	WakeIngest    func()         // tells the ingest workers new work arrived (optional)
	Media         MediaService   // stored customer media (optional)
	Accounts      AccountEvents  // the account_update events of a number (optional)
	WakeMedia     func()         // tells the media worker a job is due (optional)
	InFlight      InFlightMarker // marks webhooks being received, which ingest lets go first (optional)
	Webhooks      WebhookConfig
	Instance      string // this instance's name (readiness writes its row)
	// ObserveWebhook is told of every webhook delivery: its route (meta, positus), field,
	// outcome, size and how long it took to answer (optional; the metrics).
	ObserveWebhook func(source, field, outcome string, size int, took time.Duration)
	Asset          func(name string) string
	SecureCookies  bool             // always mark cookies Secure (otherwise only over HTTPS)
	Proxies        *proxies.Trusted // whose X-Forwarded-Proto is believed (nil: nobody's)
	CSRFKey        []byte           // signs the sign-in form's CSRF token
	SyncTimeout    time.Duration
	Now            func() time.Time
}

// Handlers holds the dependencies of every handler.
type Handlers struct {
	deps  Deps
	ready readyLog // readiness, logged once per change
}

// New returns the handlers.
func New(d Deps) *Handlers {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.Webhooks.setDefaults()
	if d.Instance == "" {
		d.Instance = "coexhistory"
	}
	return &Handlers{deps: d}
}

// syncStatus derives the sync status of a number now.
func (h *Handlers) syncStatus(n models.BusinessNumber, run models.SyncRun) syncer.Status {
	return syncer.Describe(n, run, h.deps.Now().UTC(), h.deps.SyncTimeout)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
