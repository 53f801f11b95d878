// Package ingest turns stored webhook bodies into threads and messages: a worker claims
// inbox rows with a lease, parses them (internal/coex) and applies every change through
// the store, one transaction per history chunk. Applying is idempotent, so a row processed
// twice (an expired lease, a reprocess) changes nothing the second time, and a crash at
// any moment loses nothing: the lease expires and another worker takes the row.
package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// Store is what the worker needs of the database: *store.Ingester, the store's ingest
// handle whose message writes are paced (*store.DB implements it too, unpaced).
type Store interface {
	ClaimInbox(ctx context.Context, owner string, lease time.Duration, limit int) ([]models.InboxItem, error)
	CompleteInbox(ctx context.Context, id uint64, owner, field, phoneNumberID, note string) error
	FailInbox(ctx context.Context, id uint64, owner, errText string) error
	RetryInbox(ctx context.Context, id uint64, owner, errText string, retryAfter time.Duration) error
	RenewInbox(ctx context.Context, owner string, lease time.Duration) (int64, error)
	ReleaseInstanceClaims(ctx context.Context, instance, owner string) (int64, error)
	NumberProviders(ctx context.Context, phoneNumberIDs []string) (map[string]string, error)
	KeepInboxUnknownNumber(ctx context.Context, id uint64, owner, field, phoneNumberID, note string) error
	RefuseInbox(ctx context.Context, id uint64, owner, field, phoneNumberID, why string) error
	ReleaseRegisteredNumbers(ctx context.Context) (int64, error)

	ApplyChunk(ctx context.Context, in store.ChunkInput) (store.ChunkResult, error)
	ApplyHistoryErrors(ctx context.Context, phoneNumberID string, errs []coex.HistoryError) error
	ApplyMediaUpdates(ctx context.Context, phoneNumberID string, msgs []coex.Message) (store.ApplyResult, error)
	ApplyContacts(ctx context.Context, phoneNumberID string, changes []coex.ContactChange) error
	ApplyMessages(ctx context.Context, phoneNumberID string, msgs []coex.Message) (store.ApplyResult, error)
	ApplyEdits(ctx context.Context, phoneNumberID string, edits []coex.Edit) (store.ApplyResult, error)
	ApplyRevokes(ctx context.Context, phoneNumberID string, revokes []coex.Revoke) (store.ApplyResult, error)
	ApplyStatuses(ctx context.Context, phoneNumberID string, statuses []coex.StatusUpdate) (store.ApplyResult, error)
	ApplyAccountEvent(ctx context.Context, in store.AccountInput) (int, error)
}

// Options tune a Worker. The zero value is usable.
type Options struct {
	// Instance names this app instance, stable across its restarts (COEX_INSTANCE_ID, or the
	// hostname): the lease owner is Instance/pid-random, and Run first gives back the rows
	// a previous run of the same instance still held (it crashed), instead of letting them
	// wait for their lease to end. Characters other than letters, digits, '.', '-' and '_'
	// are replaced; default the hostname.
	Instance     string
	Owner        string                // lease owner id; default Instance/pid-random, unique per worker
	Lease        time.Duration         // how long a claimed row is ours without a heartbeat; default 30 s
	Heartbeat    time.Duration         // how often the leases of rows being applied are renewed; default Lease/3
	BatchSize    int                   // rows ProcessOnce claims at a time; default 2 × Concurrency
	Concurrency  int                   // rows processed at the same time; default 2
	PollInterval time.Duration         // wait after finding nothing to do; default 500 ms
	Yield        func(context.Context) // called before a row is applied, to let more urgent work go first, e.g. Pacer.Wait (optional)
	// RequireRegistered applies a body only to business numbers that are registered: a body
	// naming another number is kept (state unknown_number) until that number is registered,
	// and one received on the Positus route naming a number registered with another
	// provider is refused (state refused). The server sets it; off, every body is applied.
	RequireRegistered bool
	Observer          Observer      // told what the worker did (the metrics); optional
	MaxAttempts       int           // tries before a row that keeps failing to apply is marked failed; default 5
	RetryDelay        time.Duration // wait before retrying a row that failed to apply, times its attempts; default 5 s
	Now               func() time.Time
}

// Observer is told what a worker did; nil fields are skipped.
type Observer struct {
	// Row: a row finished with outcome done, failed, retried, unknown_number or refused;
	// fields is the comma-separated list of its webhook fields ("" when not parsed).
	Row func(fields, outcome string, messages int64, took time.Duration)
	// Chunk: one history chunk applied (its transaction).
	Chunk func(took time.Duration)
}

func (w *Worker) observeRow(fields, outcome string, messages int64, start time.Time) {
	if w.opts.Observer.Row != nil {
		w.opts.Observer.Row(fields, outcome, messages, w.opts.Now().Sub(start))
	}
}

// Stats are the worker's counters since it started.
type Stats struct {
	Processed int64 // rows marked done
	Failed    int64 // rows marked failed (bad bodies, panics, too many attempts)
	Retried   int64 // rows given back after an apply error, to be tried again
	Messages  int64 // messages inserted or changed
	Unknown   int64 // rows kept for a number that is not registered
	Refused   int64 // rows refused (a Positus webhook for a number of another provider)
}

// Worker applies inbox rows. It is safe to run several, in one process or many.
type Worker struct {
	store Store
	log   *slog.Logger
	opts  Options
	wake  chan struct{}

	processed, failed, retried, messages, unknown, refused atomic.Int64
}

// New returns a worker over st.
func New(st Store, log *slog.Logger, opts Options) *Worker {
	opts.Instance = instanceName(opts.Instance)
	if opts.Owner == "" {
		opts.Owner = defaultOwner(opts.Instance)
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Heartbeat <= 0 || opts.Heartbeat >= opts.Lease {
		opts.Heartbeat = opts.Lease / 3
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 2 * opts.Concurrency
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: st, log: log.With("component", "ingest", "owner", opts.Owner), opts: opts, wake: make(chan struct{}, 1)}
}

// releaseEvery is how often an idle Run looks for rows kept for numbers registered since
// (by another instance, the API or the CLI; the registry of this instance releases its own
// at once).
const releaseEvery = 30 * time.Second

// DefaultLease is how long a claimed row stays ours without a heartbeat: a worker that
// dies without giving its rows back (kill -9, a lost machine) delays them this long, unless
// its instance restarts first and takes them back at once.
const DefaultLease = 30 * time.Second

// instanceName is name, or the hostname, with characters other than letters, digits, '.',
// '-' and '_' replaced by '_', at most 40 bytes.
func instanceName(name string) string {
	if name == "" {
		name, _ = os.Hostname()
	}
	if name == "" {
		name = "coexhistory"
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

// defaultOwner is instance/pid-random, at most 64 bytes (the lease_owner column).
func defaultOwner(instance string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return instance + "/" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Instance is the worker's instance name.
func (w *Worker) Instance() string { return w.opts.Instance }

// TakeOver gives back the rows a previous run of this instance still holds (see
// Options.Instance) and returns how many; Run calls it first.
func (w *Worker) TakeOver(ctx context.Context) (int64, error) {
	n, err := w.store.ReleaseInstanceClaims(ctx, w.opts.Instance, w.opts.Owner)
	if err == nil && n > 0 {
		w.log.Warn("took back rows a previous run of this instance held", "rows", n, "instance", w.opts.Instance)
	}
	return n, err
}

// heartbeat renews the leases of the rows this worker holds every Heartbeat until the
// returned stop is called.
func (w *Worker) heartbeat(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(w.opts.Heartbeat)
		defer tick.Stop()
		var renewOutage outage
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := w.store.RenewInbox(ctx, w.opts.Owner, w.opts.Lease); ctx.Err() == nil {
				renewOutage.report(w.log, "renew inbox leases", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Owner is the worker's lease owner id.
func (w *Worker) Owner() string { return w.opts.Owner }

// Stats returns the counters.
func (w *Worker) Stats() Stats {
	return Stats{Processed: w.processed.Load(), Failed: w.failed.Load(), Retried: w.retried.Load(), Messages: w.messages.Load(),
		Unknown: w.unknown.Load(), Refused: w.refused.Load()}
}

// Notify tells a waiting Run that new rows arrived (the webhook receiver calls it after an
// insert); it never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run processes inbox rows until ctx ends, keeping up to Concurrency rows in flight, and
// returns nil after the rows in flight are finished or handed back.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info("ingest worker started", "concurrency", w.opts.Concurrency, "lease", w.opts.Lease, "heartbeat", w.opts.Heartbeat)
	if _, err := w.TakeOver(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("take back this instance's earlier claims", "err", err)
	}
	// The heartbeat outlives the rows in flight: it stops after wg.Wait below.
	defer w.heartbeat(context.WithoutCancel(ctx))()
	slots := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	var lastRelease time.Time
	var claimOutage outage
	for {
		// Wait for at least one free slot, then claim as many rows as there are free slots.
		select {
		case <-ctx.Done():
			w.log.Info("ingest worker stopping", "processed", w.processed.Load(), "failed", w.failed.Load())
			return nil
		case slots <- struct{}{}:
		}
		free := 1
	fill:
		for free < w.opts.Concurrency {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break fill
			}
		}
		items, err := w.store.ClaimInbox(ctx, w.opts.Owner, w.opts.Lease, free)
		if ctx.Err() == nil {
			claimOutage.report(w.log, "claim inbox rows", err)
		}
		for range free - len(items) {
			<-slots
		}
		for _, it := range items {
			wg.Go(func() {
				defer func() { <-slots }()
				w.process(ctx, it)
			})
		}
		if len(items) == 0 {
			if w.opts.RequireRegistered && time.Since(lastRelease) >= releaseEvery {
				lastRelease = time.Now()
				if _, err := w.ReleaseRegistered(ctx); err != nil && ctx.Err() == nil {
					w.log.Warn("release webhooks of numbers registered since", "err", err)
				}
			}
			select {
			case <-ctx.Done():
			case <-w.wake:
			case <-time.After(w.opts.PollInterval):
			}
		}
	}
}

// ProcessOnce claims up to BatchSize rows, processes them with up to Concurrency at a
// time and returns how many it processed (done, failed or handed back for a retry).
func (w *Worker) ProcessOnce(ctx context.Context) (int, error) {
	items, err := w.store.ClaimInbox(ctx, w.opts.Owner, w.opts.Lease, w.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("claim inbox rows: %w", err)
	}
	if len(items) > 0 {
		defer w.heartbeat(ctx)()
	}
	slots := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	for _, it := range items {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			w.process(ctx, it)
		})
	}
	wg.Wait()
	return len(items), ctx.Err()
}

// Drain calls ProcessOnce until no row is left to claim and returns the total processed.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := w.ProcessOnce(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// process handles one claimed row: parse, apply every change, record the outcome. It never
// panics; a panic while applying fails the row with the panic and its stack.
func (w *Worker) process(ctx context.Context, it models.InboxItem) {
	start := w.opts.Now()
	log := w.log.With("inbox_id", it.ID, "attempt", it.Attempts)
	defer func() {
		if p := recover(); p != nil {
			stack := string(debug.Stack())
			log.Error("panic while applying an inbox row", "panic", p, "stack", stack)
			w.fail(ctx, it, log, fmt.Sprintf("panic: %v\n%s", p, stack))
		}
	}()

	if w.opts.Yield != nil {
		w.opts.Yield(ctx)
	}
	batch, err := coex.Parse(it.Body)
	if err != nil {
		log.Warn("inbox row cannot be parsed", "err", err)
		w.fail(ctx, it, log, fmt.Sprintf("parse: %v", err))
		return
	}
	if w.opts.RequireRegistered && w.setAside(ctx, it, batch, log) {
		return
	}
	out, err := w.apply(ctx, it.ID, batch)
	switch {
	case err == nil:
	case errors.As(err, new(*permanentError)), store.IsPermanent(err):
		log.Warn("inbox row cannot be applied", "err", err)
		w.fail(ctx, it, log, err.Error())
		return
	default:
		w.retry(ctx, it, log, err)
		return
	}
	if len(out.itemErrors) > 0 {
		// Every other item is stored; the row stays failed, with which items and why, so
		// that staff see it and can reprocess it (applying a row again is idempotent).
		log.Warn("inbox row has items that cannot be read", "items", len(out.itemErrors), "first", out.itemErrors[0])
		w.fail(ctx, it, log, itemErrorsText(out.itemErrors))
		return
	}
	recordCtx, cancel := outcomeContext(ctx)
	defer cancel()
	if err := w.store.CompleteInbox(recordCtx, it.ID, w.opts.Owner, out.fields(), out.phoneNumberID, out.note()); err != nil {
		log.Warn("mark inbox row done", "err", err)
		return
	}
	w.processed.Add(1)
	w.messages.Add(out.messages)
	w.observeRow(out.fields(), models.InboxDone, out.messages, start)
	log.Debug("inbox row applied", "fields", out.fields(), "chunks", out.chunks, "messages", out.messages, "took", w.opts.Now().Sub(start))
}

// setAside keeps a body that names an unregistered number (until it is registered) and
// refuses a Positus body that names a number of another provider; it reports whether the
// row was set aside (or handed back after a lookup error) instead of being applied.
func (w *Worker) setAside(ctx context.Context, it models.InboxItem, batch *coex.Batch, log *slog.Logger) bool {
	var pnids []string
	fieldOf := map[string]string{}
	for _, ch := range batch.Changes {
		switch ch.Field {
		case coex.FieldHistory, coex.FieldSMBAppStateSync, coex.FieldSMBMessageEchoes, coex.FieldMessages, coex.FieldAccountUpdate:
		default:
			continue
		}
		if ch.PhoneNumberID != "" && fieldOf[ch.PhoneNumberID] == "" {
			pnids = append(pnids, ch.PhoneNumberID)
			fieldOf[ch.PhoneNumberID] = ch.Field
		}
	}
	if len(pnids) == 0 {
		return false
	}
	providers, err := w.store.NumberProviders(ctx, pnids)
	if err != nil {
		w.retry(ctx, it, log, err)
		return true
	}
	recordCtx, cancel := outcomeContext(ctx)
	defer cancel()
	for _, pnid := range pnids {
		if _, ok := providers[pnid]; ok {
			continue
		}
		note := fmt.Sprintf("business number %s is not registered: kept, and applied once it is", pnid)
		if err := w.store.KeepInboxUnknownNumber(recordCtx, it.ID, w.opts.Owner, fieldOf[pnid], pnid, note); err != nil {
			log.Warn("keep inbox row for an unknown number", "err", err)
		} else {
			w.unknown.Add(1)
			w.observeRow(fieldOf[pnid], models.InboxUnknownNumber, 0, w.opts.Now())
			log.Info("inbox row kept for an unknown number", "phone_number_id", pnid)
		}
		return true
	}
	if it.Source != models.ProviderPositus {
		return false
	}
	for _, pnid := range pnids {
		if p := providers[pnid]; p != models.ProviderPositus {
			why := fmt.Sprintf("refused: received on the Positus route but business number %s is registered with provider %s; "+
				"only numbers registered with Positus take webhooks from that route", pnid, p)
			if err := w.store.RefuseInbox(recordCtx, it.ID, w.opts.Owner, fieldOf[pnid], pnid, why); err != nil {
				log.Warn("refuse inbox row", "err", err)
			} else {
				w.refused.Add(1)
				w.observeRow(fieldOf[pnid], models.InboxRefused, 0, w.opts.Now())
				log.Warn("positus webhook refused for a number of another provider", "phone_number_id", pnid, "provider", p)
			}
			return true
		}
	}
	return false
}

// ReleaseRegistered puts back to pending the rows kept for numbers that are registered by
// now, and wakes Run when there were any.
func (w *Worker) ReleaseRegistered(ctx context.Context) (int64, error) {
	n, err := w.store.ReleaseRegisteredNumbers(ctx)
	if err == nil && n > 0 {
		w.log.Info("webhooks kept for numbers registered since released", "rows", n)
		w.Notify()
	}
	return n, err
}

func (w *Worker) fail(ctx context.Context, it models.InboxItem, log *slog.Logger, text string) {
	recordCtx, cancel := outcomeContext(ctx)
	defer cancel()
	if err := w.store.FailInbox(recordCtx, it.ID, w.opts.Owner, text); err != nil {
		log.Warn("mark inbox row failed", "err", err)
		return
	}
	w.failed.Add(1)
	w.observeRow("", models.InboxFailed, 0, w.opts.Now())
}

// retry hands a row back after an apply error (the database was unreachable, busy, or the
// worker is stopping); after MaxAttempts the row is failed with the error.
func (w *Worker) retry(ctx context.Context, it models.InboxItem, log *slog.Logger, applyErr error) {
	if ctx.Err() != nil {
		// Stopping: hand the row back at once; the next worker redoes it (idempotent).
		recordCtx, cancel := outcomeContext(ctx)
		defer cancel()
		if err := w.store.RetryInbox(recordCtx, it.ID, w.opts.Owner, "interrupted: "+applyErr.Error(), 0); err != nil {
			log.Warn("hand back inbox row", "err", err)
		}
		return
	}
	if it.Attempts >= w.opts.MaxAttempts {
		log.Error("inbox row keeps failing to apply", "err", applyErr)
		w.fail(ctx, it, log, fmt.Sprintf("apply (attempt %d): %v", it.Attempts, applyErr))
		return
	}
	delay := w.opts.RetryDelay * time.Duration(max(it.Attempts, 1))
	log.Warn("inbox row failed to apply; will retry", "err", applyErr, "retry_in", delay)
	recordCtx, cancel := outcomeContext(ctx)
	defer cancel()
	if err := w.store.RetryInbox(recordCtx, it.ID, w.opts.Owner, fmt.Sprintf("apply (attempt %d): %v", it.Attempts, applyErr), delay); err != nil {
		log.Warn("hand back inbox row", "err", err)
		return
	}
	w.retried.Add(1)
	w.observeRow("", "retried", 0, w.opts.Now())
}

// outcomeContext lets the outcome of a row be recorded even while the worker stops.
func outcomeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// permanentError is an apply error that no retry can fix (the body lacks what routing
// needs); the row is failed at once and kept for staff.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanent(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

// itemErrorsText lists the items of a body that were not read (the first ones).
func itemErrorsText(errs []string) string {
	const shown = 20
	var b strings.Builder
	fmt.Fprintf(&b, "%d item(s) not read (every other item was applied):", len(errs))
	for i, e := range errs {
		if i == shown {
			fmt.Fprintf(&b, "\n… and %d more", len(errs)-shown)
			break
		}
		b.WriteString("\n")
		b.WriteString(e)
	}
	return b.String()
}

// outcome summarises what a row carried, for its inbox record and the logs.
type outcome struct {
	itemErrors    []string // items not read, "change 0 (history) history 0 thread 1 message 5 (wamid): why"
	fieldList     []string
	phoneNumberID string
	notes         []string
	chunks        int
	messages      int64
}

func (o *outcome) addField(field, pnid string) {
	if !containsString(o.fieldList, field) {
		o.fieldList = append(o.fieldList, field)
	}
	if o.phoneNumberID == "" {
		o.phoneNumberID = pnid
	}
}

func (o *outcome) fields() string { return strings.Join(o.fieldList, ",") }

func (o *outcome) note() string { return strings.Join(o.notes, "; ") }

func (o *outcome) count(r store.ApplyResult) {
	o.messages += int64(r.Inserted + r.Updated)
	for _, rej := range r.Rejected {
		o.itemErrors = append(o.itemErrors, fmt.Sprintf("message %s (contact %s) refused by the database: %s", rej.WAMID, rej.Contact, rej.Err))
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// apply applies every change of a parsed body, in order.
func (w *Worker) apply(ctx context.Context, inboxID uint64, batch *coex.Batch) (*outcome, error) {
	out := &outcome{}
	if len(batch.Changes) == 0 {
		out.notes = append(out.notes, "no changes in the body")
	}
	for i, ch := range batch.Changes {
		out.addField(ch.Field, ch.PhoneNumberID)
		for _, e := range ch.ItemErrors {
			out.itemErrors = append(out.itemErrors, fmt.Sprintf("change %d (%s) %s", i, ch.Field, e.Error()))
		}
		if err := w.applyChange(ctx, inboxID, ch, out); err != nil {
			return nil, fmt.Errorf("change %d (%s): %w", i, ch.Field, err)
		}
	}
	return out, nil
}

func (w *Worker) applyChange(ctx context.Context, inboxID uint64, ch coex.Change, out *outcome) error {
	pnid := ch.PhoneNumberID
	switch ch.Field {
	case coex.FieldHistory, coex.FieldSMBAppStateSync, coex.FieldSMBMessageEchoes, coex.FieldMessages:
		if pnid == "" {
			if hasContent(ch) {
				return permanent("no metadata.phone_number_id: cannot tell which business number it belongs to")
			}
			out.notes = append(out.notes, fmt.Sprintf("%s change without phone_number_id or content", ch.Field))
			return nil
		}
	case coex.FieldAccountUpdate:
		if ch.Account == nil {
			return nil
		}
		n, err := w.store.ApplyAccountEvent(ctx, store.AccountInput{
			PhoneNumberID: pnid, DisplayPhoneNumber: ch.DisplayPhoneNumber, WABAID: ch.WABAID, InboxID: inboxID, Event: *ch.Account,
		})
		switch {
		case err != nil:
			return err
		case n == 0:
			out.notes = append(out.notes, fmt.Sprintf("account_update %s for a number that is not registered", ch.Account.Event))
		}
		return nil
	default:
		out.notes = append(out.notes, fmt.Sprintf("unknown field %q kept raw", ch.Field))
		return nil
	}

	for _, c := range ch.Chunks {
		chunkStart := w.opts.Now()
		res, err := w.store.ApplyChunk(ctx, store.ChunkInput{
			PhoneNumberID: pnid, InboxID: inboxID, Chunk: c,
		})
		if err != nil {
			return err
		}
		if w.opts.Observer.Chunk != nil {
			w.opts.Observer.Chunk(w.opts.Now().Sub(chunkStart))
		}
		out.chunks++
		out.count(res.ApplyResult)
	}
	if len(ch.HistoryErrors) > 0 {
		if err := w.store.ApplyHistoryErrors(ctx, pnid, ch.HistoryErrors); err != nil {
			return err
		}
	}
	if err := w.applyMessages(ctx, pnid, ch.MediaUpdates, w.store.ApplyMediaUpdates, out); err != nil {
		return err
	}
	if len(ch.Contacts) > 0 {
		if err := w.store.ApplyContacts(ctx, pnid, ch.Contacts); err != nil {
			return err
		}
	}
	// Messages before what refers to them (edits, revokes, statuses).
	if err := w.applyMessages(ctx, pnid, ch.Messages, w.store.ApplyMessages, out); err != nil {
		return err
	}
	if len(ch.Edits) > 0 {
		res, err := w.store.ApplyEdits(ctx, pnid, ch.Edits)
		if err != nil {
			return err
		}
		out.count(res)
	}
	if len(ch.Revokes) > 0 {
		res, err := w.store.ApplyRevokes(ctx, pnid, ch.Revokes)
		if err != nil {
			return err
		}
		out.count(res)
	}
	if len(ch.Statuses) > 0 {
		res, err := w.store.ApplyStatuses(ctx, pnid, ch.Statuses)
		if err != nil {
			return err
		}
		out.count(res)
	}
	return nil
}

func (w *Worker) applyMessages(ctx context.Context, pnid string, msgs []coex.Message,
	fn func(context.Context, string, []coex.Message) (store.ApplyResult, error), out *outcome) error {
	if len(msgs) == 0 {
		return nil
	}
	res, err := fn(ctx, pnid, msgs)
	if err != nil {
		return err
	}
	out.count(res)
	return nil
}

func hasContent(ch coex.Change) bool {
	return len(ch.Chunks)+len(ch.HistoryErrors)+len(ch.MediaUpdates)+len(ch.Contacts)+
		len(ch.Messages)+len(ch.Edits)+len(ch.Revokes)+len(ch.Statuses) > 0
}
