package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/provider"
	"coexhistory/internal/store"
	"coexhistory/internal/syncstate"
	"coexhistory/models"
)

// Store is what the sync service needs from the database.
type Store interface {
	NumberByPhoneNumberID(ctx context.Context, pnid string) (models.BusinessNumber, error)
	SyncRun(ctx context.Context, pnid string) (models.SyncRun, error)
	ClaimSyncRun(ctx context.Context, pnid string, from []string, at time.Time) (bool, error)
	UpdateSyncRun(ctx context.Context, pnid string, from []string, u store.SyncRunUpdate) (bool, error)
	TimeOutSyncRuns(ctx context.Context, before time.Time) ([]models.SyncRun, error)
	UnansweredSyncRequests(ctx context.Context, before time.Time) ([]models.SyncRun, error)
	Audit(ctx context.Context, e models.AuditEntry) error
}

// Tokens opens the sealed access token of a number.
type Tokens interface {
	AccessToken(ctx context.Context, pnid string) (string, error)
}

// Defaults of Config.
const (
	DefaultTimeout    = 24 * time.Hour   // COEX_SYNC_TIMEOUT
	DefaultCallBudget = 45 * time.Second // the longest one Request waits for its provider
)

// Config configures the sync service. Store, Tokens and Providers are required.
type Config struct {
	Store     Store
	Tokens    Tokens
	Providers map[string]provider.SyncRequester // by models.ProviderMeta / models.ProviderPositus
	// Timeout is how long a requested sync may wait for its first webhook before it is
	// timed out (default DefaultTimeout). Late chunks still count.
	Timeout time.Duration
	// CallBudget bounds the provider calls of one Request, retries included (default
	// DefaultCallBudget); the end of the 24 h window bounds them too.
	CallBudget time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service requests history syncs and times out the ones that never hear back.
type Service struct {
	cfg Config
}

// New returns the sync service.
func New(cfg Config) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CallBudget <= 0 {
		cfg.CallBudget = DefaultCallBudget
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// Timeout is how long a requested sync waits for its first webhook.
func (s *Service) Timeout() time.Duration { return s.cfg.Timeout }

// Actor is who asks, for the audit log.
type Actor struct{ Name, RemoteIP string }

// system is the actor of the service's own state changes.
var system = Actor{Name: "system"}

// Result is the outcome of a Request that reached the provider.
type Result struct {
	Run    models.SyncRun // the run as stored afterwards
	Notice string         // what happened, in plain words
}

// Request asks the provider of number pnid for its contacts, then its chat history. Meta's
// rules are checked first (Describe: within 24 h of onboarding, once per number); a refusal
// is an apperr.Conflict with the reason. The run is claimed as requested before any call,
// atomically, so two clicks or two app instances never both call. Each step's request_id is
// stored. Errors: 2593107 (already requested) is not a failure: the run stays requested,
// marked so, and waits for webhooks. 2593108 (outside the window) fails the run and is a
// Conflict. Any other error fails the run with its code and safe message and is an
// apperr.Upstream. The returned Result holds the run as stored, also with an error.
func (s *Service) Request(ctx context.Context, a Actor, pnid string) (Result, error) {
	n, err := s.cfg.Store.NumberByPhoneNumberID(ctx, pnid)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, apperr.New(apperr.NotFound, "This number does not exist (any more).")
	}
	if err != nil {
		return Result{}, fmt.Errorf("read number %s: %w", pnid, err)
	}
	run, err := s.run(ctx, pnid)
	if err != nil {
		return Result{}, err
	}
	now := s.cfg.Now().UTC()
	st := Describe(n, run, now, s.cfg.Timeout)
	if !st.CanSync {
		s.audit(ctx, a, "sync.request", pnid, "refused: "+st.DisabledReason)
		return Result{Run: run}, apperr.New(apperr.Conflict, st.DisabledReason)
	}
	client, ok := s.cfg.Providers[n.Provider]
	if !ok {
		return Result{Run: run}, apperr.New(apperr.Internal, "No client is configured for the provider "+strconv.Quote(n.Provider)+".")
	}
	claimed, err := s.cfg.Store.ClaimSyncRun(ctx, pnid, syncstate.Sources(syncstate.EventRequest), now)
	if err != nil {
		return Result{Run: run}, err
	}
	if !claimed {
		s.audit(ctx, a, "sync.request", pnid, "refused: requested concurrently")
		run, _ = s.run(ctx, pnid)
		return Result{Run: run}, apperr.New(apperr.Conflict, "The history sync of this number was just requested by someone else.")
	}
	s.stateChange(ctx, a, pnid, run.State, models.SyncRequested, "")

	// The calls are one-shot at Meta: finish them even if the browser goes away, but never
	// after the window closes nor beyond the call budget.
	budget := s.cfg.CallBudget
	if st.WindowEndsAt != nil {
		budget = min(budget, st.WindowEndsAt.Sub(now))
	}
	bg := context.WithoutCancel(ctx)
	callCtx, cancel := context.WithTimeout(bg, budget)
	defer cancel()

	res, err := s.call(bg, callCtx, a, n, client, run)
	if stored, rerr := s.run(ctx, pnid); rerr == nil {
		res.Run = stored
	}
	return res, err
}

// call runs the two steps on a claimed run: the provider under callCtx, the bookkeeping
// under ctx (which outlives it, so a timeout is still recorded). prev is the run before the
// claim: a step with a request id from an earlier attempt was accepted by Meta and is not
// asked again.
func (s *Service) call(ctx, callCtx context.Context, a Actor, n models.BusinessNumber, client provider.SyncRequester, prev models.SyncRun) (Result, error) {
	pnid := n.PhoneNumberID
	token, err := s.cfg.Tokens.AccessToken(ctx, pnid)
	if err != nil {
		msg := "The stored access token cannot be read; enter it again."
		var ae *apperr.Error
		if errors.As(err, &ae) {
			msg = ae.Safe
		}
		s.fail(ctx, a, pnid, 0, msg)
		return Result{}, apperr.Wrap(apperr.Internal, msg, err)
	}
	num := provider.Number{PhoneNumberID: pnid, ProviderNumberID: n.ProviderNumberID, AccessToken: token}

	steps := []struct {
		typ   provider.SyncType
		prior string
		store func(id string) store.SyncRunUpdate
	}{
		{provider.SyncContacts, prev.ContactsRequestID, func(id string) store.SyncRunUpdate { return store.SyncRunUpdate{ContactsRequestID: &id} }},
		{provider.SyncHistory, prev.HistoryRequestID, func(id string) store.SyncRunUpdate { return store.SyncRunUpdate{HistoryRequestID: &id} }},
	}
	var notes []string
	for _, step := range steps {
		if step.prior != "" {
			s.audit(ctx, a, "sync.request", pnid, fmt.Sprintf("type=%s skipped: accepted before as request_id=%s", step.typ, step.prior))
			continue
		}
		s.audit(ctx, a, "sync.request", pnid, fmt.Sprintf("type=%s provider=%s", step.typ, n.Provider))
		id, err := client.RequestSync(callCtx, num, step.typ)
		if err == nil {
			s.audit(ctx, a, "sync.response", pnid, fmt.Sprintf("type=%s accepted request_id=%s", step.typ, orNone(id)))
			if _, err := s.cfg.Store.UpdateSyncRun(ctx, pnid, nil, step.store(id)); err != nil {
				return Result{}, fmt.Errorf("store %s request id: %w", step.typ, err)
			}
			continue
		}
		var ge *provider.GraphAPIError
		isGraph := errors.As(err, &ge)
		if isGraph {
			s.audit(ctx, a, "sync.response", pnid, fmt.Sprintf("type=%s error kind=%s: %s", step.typ, ge.Kind(), ge.SafeMessage()))
		} else {
			s.audit(ctx, a, "sync.response", pnid, fmt.Sprintf("type=%s no answer: %s", step.typ, transportMessage(err)))
		}
		switch {
		case isGraph && ge.Kind() == provider.KindAlreadyRequested && step.typ == provider.SyncContacts:
			// The contacts were asked for before; the history is what matters.
			notes = append(notes, "Meta says the contacts were already requested.")
		case isGraph && ge.Kind() == provider.KindAlreadyRequested:
			msg := "Already requested: Meta says the history sync of this number was requested before; waiting for its webhooks."
			code, text := ge.Code, msg
			if _, err := s.cfg.Store.UpdateSyncRun(ctx, pnid, []string{models.SyncRequested}, store.SyncRunUpdate{ErrorCode: &code, ErrorMessage: &text}); err != nil {
				return Result{}, fmt.Errorf("mark already requested: %w", err)
			}
			return Result{Notice: strings.Join(append(notes, msg), " ")}, nil
		case isGraph && ge.Kind() == provider.KindOutsideWindow:
			msg := "Outside the 24 h window: Meta accepts the sync only within 24 hours of onboarding. The business must offboard and onboard again."
			s.fail(ctx, a, pnid, ge.Code, msg)
			return Result{}, apperr.Wrap(apperr.Conflict, msg, err)
		case isGraph:
			s.fail(ctx, a, pnid, ge.Code, ge.SafeMessage())
			return Result{}, apperr.Wrap(apperr.Upstream, ge.SafeMessage(), err)
		default:
			msg := transportMessage(err)
			s.fail(ctx, a, pnid, 0, msg)
			return Result{}, apperr.Wrap(apperr.Upstream, msg, err)
		}
	}
	notes = append(notes, "Sync requested: the history arrives by webhook over the next minutes.")
	return Result{Notice: strings.Join(notes, " ")}, nil
}

// fail moves a requested run to failed with code and a safe message.
func (s *Service) fail(ctx context.Context, a Actor, pnid string, code int, msg string) {
	failed := models.SyncFailed
	ok, err := s.cfg.Store.UpdateSyncRun(ctx, pnid, syncstate.Sources(syncstate.EventRequestFailed), store.SyncRunUpdate{State: &failed, ErrorCode: &code, ErrorMessage: &msg})
	if err != nil {
		s.cfg.Logger.ErrorContext(ctx, "record failed sync", "phone_number_id", pnid, "err", err)
		return
	}
	if ok {
		s.stateChange(ctx, a, pnid, models.SyncRequested, models.SyncFailed, fmt.Sprintf("code=%d %s", code, msg))
	}
}

// unansweredAfter is how long a claimed request may go without the provider's answer being
// recorded before the sweeper gives it up: at least 5 minutes, and always well past the
// call budget, so a call still running is never given up.
func (s *Service) unansweredAfter() time.Duration { return max(5*time.Minute, 4*s.cfg.CallBudget) }

// Sweep times out every run that has waited longer than the timeout for its first webhook,
// fails the requests whose answer was never recorded (so staff can press Sync again), and
// returns how many runs it moved.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.cfg.Now().UTC()
	unanswered, err := s.cfg.Store.UnansweredSyncRequests(ctx, now.Add(-s.unansweredAfter()))
	if err != nil {
		return 0, err
	}
	for _, r := range unanswered {
		s.fail(ctx, system, r.PhoneNumberID, 0, "The request to the provider did not finish (the app may have stopped). Press Sync again.")
	}
	moved, err := s.cfg.Store.TimeOutSyncRuns(ctx, now.Add(-s.cfg.Timeout))
	for _, r := range moved {
		detail := "no webhook since " + r.RequestedAt.UTC().Format(time.RFC3339)
		s.stateChange(ctx, system, r.PhoneNumberID, models.SyncRequested, models.SyncTimedOut, detail)
		s.cfg.Logger.InfoContext(ctx, "sync timed out", "phone_number_id", r.PhoneNumberID)
	}
	return len(unanswered) + len(moved), err
}

// SweepEvery is how often RunSweeper looks: a fiftieth of the timeout, between 1 s and 1 min.
func (s *Service) SweepEvery() time.Duration {
	return min(max(s.cfg.Timeout/50, time.Second), time.Minute)
}

// RunSweeper sweeps every SweepEvery until ctx ends. Errors are logged, not fatal.
func (s *Service) RunSweeper(ctx context.Context) error {
	t := time.NewTicker(s.SweepEvery())
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.WarnContext(ctx, "sync timeout sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// run reads the run of pnid; a number never requested has the zero run.
func (s *Service) run(ctx context.Context, pnid string) (models.SyncRun, error) {
	r, err := s.cfg.Store.SyncRun(ctx, pnid)
	if errors.Is(err, store.ErrNotFound) {
		return models.SyncRun{PhoneNumberID: pnid, State: models.SyncNotRequested}, nil
	}
	if err != nil {
		return r, fmt.Errorf("read sync run %s: %w", pnid, err)
	}
	return r, nil
}

func (s *Service) stateChange(ctx context.Context, a Actor, pnid, from, to, detail string) {
	if from == "" {
		from = models.SyncNotRequested
	}
	d := from + " → " + to
	if detail != "" {
		d += ": " + detail
	}
	s.audit(ctx, a, "sync.state", pnid, d)
}

func (s *Service) audit(ctx context.Context, a Actor, action, pnid, detail string) {
	err := s.cfg.Store.Audit(context.WithoutCancel(ctx), models.AuditEntry{Actor: a.Name, Action: action, Target: pnid, Detail: detail, RemoteIP: a.RemoteIP})
	if err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit sync", "action", action, "phone_number_id", pnid, "err", err)
	}
}

// transportMessage describes an error that is not a Graph API answer, without internals.
func transportMessage(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "The provider did not answer in time (or the 24 h window closed meanwhile); try again if the window is still open."
	}
	if errors.Is(err, context.Canceled) {
		return "The request was cancelled before the provider answered; try again."
	}
	return "Could not reach the provider; check the network and try again."
}

func orNone(id string) string {
	if id == "" {
		return "(none given)"
	}
	return id
}
