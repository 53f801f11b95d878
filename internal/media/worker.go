package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"coexhistory/models"
)

// Jobs is what the worker needs from the database (internal/store implements it).
type Jobs interface {
	ClaimMediaJobs(ctx context.Context, owner string, lease time.Duration, limit int) ([]models.MediaJob, error)
	ExtendMediaLease(ctx context.Context, id uint64, owner string, lease time.Duration) error
	// RecordMediaOutcomes records a batch of outcomes in one transaction; lost counts the
	// jobs no longer leased to owner.
	RecordMediaOutcomes(ctx context.Context, owner string, outs []models.MediaOutcome) (lost int, err error)
}

// Sources gives the provider and token of a business number.
type Sources interface {
	MediaSource(ctx context.Context, phoneNumberID string) (Source, error)
}

// SourceFunc adapts a function to Sources.
type SourceFunc func(ctx context.Context, phoneNumberID string) (Source, error)

// MediaSource calls f.
func (f SourceFunc) MediaSource(ctx context.Context, pnid string) (Source, error) {
	return f(ctx, pnid)
}

// WorkerOptions tune a Worker. Zero fields take defaults.
type WorkerOptions struct {
	Concurrency int           // downloads at once; default 4
	Lease       time.Duration // default 2 min, extended every Lease/3 while a download runs
	Poll        time.Duration // how often to look for due jobs when idle; default 500 ms
	MaxAttempts int           // transient failures before a job fails; default 10
	BackoffBase time.Duration // first wait after a transient failure; default 5 s; doubles
	BackoffCap  time.Duration // default 30 min
	// Yield, when set, is called before each claim: the instance's wait for webhooks being
	// received, so that media work never delays their answers.
	Yield func(context.Context)
	Now   func() time.Time
}

// Worker runs the media download jobs of one instance.
type Worker struct {
	jobs    Jobs
	sources Sources
	dl      *Downloader
	log     *slog.Logger
	opt     WorkerOptions
	owner   string
	wake    chan struct{}
}

// NewWorker returns a Worker.
func NewWorker(jobs Jobs, sources Sources, dl *Downloader, log *slog.Logger, opt WorkerOptions) *Worker {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.Poll <= 0 {
		opt.Poll = 500 * time.Millisecond
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	if opt.BackoffBase <= 0 {
		opt.BackoffBase = 5 * time.Second
	}
	if opt.BackoffCap <= 0 {
		opt.BackoffCap = 30 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Worker{jobs: jobs, sources: sources, dl: dl, log: log, opt: opt,
		owner: fmt.Sprintf("media:%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:])), wake: make(chan struct{}, 1)}
}

// Notify wakes the worker: new jobs were created, or webhooks that may carry media arrived.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs due jobs until ctx ends: Concurrency downloads at once, fed from a
// small queue of claimed jobs (claims are batched), their outcomes recorded in batches (one
// transaction for the downloads that ended meanwhile).
func (w *Worker) Run(ctx context.Context) error {
	queue := make(chan models.MediaJob, w.opt.Concurrency)
	outcomes := make(chan models.MediaOutcome, 4*w.opt.Concurrency)
	freed := make(chan struct{}, 1)
	var downloads, recorder sync.WaitGroup
	recorder.Add(1)
	go func() { defer recorder.Done(); w.recordLoop(ctx, outcomes) }()
	for range w.opt.Concurrency {
		downloads.Add(1)
		go func() {
			defer downloads.Done()
			for j := range queue {
				if o, ok := w.runJob(ctx, j); ok {
					outcomes <- o
				}
				select {
				case freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	defer func() {
		close(queue)
		downloads.Wait()
		close(outcomes)
		recorder.Wait()
	}()
	inFlight := func() int { return len(queue) }
	var eagerUntil time.Time
	for ctx.Err() == nil {
		// Keep the queue full: claim what it lacks, as one statement.
		want := cap(queue) - inFlight()
		claimed := 0
		if want > 0 {
			if w.opt.Yield != nil {
				w.opt.Yield(ctx)
			}
			jobs, err := w.jobs.ClaimMediaJobs(ctx, w.owner, w.opt.Lease, want)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("media jobs not claimed", "err", err)
			}
			for _, j := range jobs {
				queue <- j
			}
			claimed = len(jobs)
		}
		if claimed > 0 && claimed == want {
			select { // more may be due: claim again once a download ends
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		// After a wake-up (webhooks arrived: their jobs appear once ingest has applied them)
		// look again soon for a few seconds, then at the idle pace.
		wait := w.opt.Poll
		if time.Now().Before(eagerUntil) {
			wait = min(wait, 50*time.Millisecond)
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
			eagerUntil = time.Now().Add(3 * time.Second)
		case <-freed:
		case <-time.After(wait):
		}
	}
	return nil
}

// recordLoop writes outcomes as they come, batching those that arrive meanwhile.
func (w *Worker) recordLoop(ctx context.Context, outcomes <-chan models.MediaOutcome) {
	batch := make([]models.MediaOutcome, 0, 64)
	for o := range outcomes {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < cap(batch) {
			select {
			case more, ok := <-outcomes:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		w.record(context.WithoutCancel(ctx), batch)
	}
}

// RunOnce claims and runs the due jobs until none is left (tests, the benchmark).
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		jobs, err := w.jobs.ClaimMediaJobs(ctx, w.owner, w.opt.Lease, w.opt.Concurrency)
		if err != nil {
			return total, err
		}
		if len(jobs) == 0 {
			return total, nil
		}
		outs := make([]models.MediaOutcome, len(jobs))
		ok := make([]bool, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() { defer wg.Done(); outs[i], ok[i] = w.runJob(ctx, j) }()
		}
		wg.Wait()
		var batch []models.MediaOutcome
		for i := range outs {
			if ok[i] {
				batch = append(batch, outs[i])
			}
		}
		w.record(ctx, batch)
		total += len(jobs)
	}
}

func (w *Worker) record(ctx context.Context, batch []models.MediaOutcome) {
	if len(batch) == 0 {
		return
	}
	lost, err := w.jobs.RecordMediaOutcomes(ctx, w.owner, batch)
	if err != nil {
		w.log.Warn("media outcomes not recorded", "jobs", len(batch), "err", err)
	} else if lost > 0 {
		w.log.Warn("media outcomes of jobs no longer leased were dropped", "jobs", lost)
	}
}

// runJob downloads one leased job and returns its outcome; ok is false when the worker is
// stopping (the lease then expires and another worker resumes the job).
func (w *Worker) runJob(ctx context.Context, j models.MediaJob) (models.MediaOutcome, bool) {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Keep the lease while the download runs; a lost lease stops it.
	hb := make(chan struct{})
	go func() {
		defer close(hb)
		t := time.NewTicker(w.opt.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				if err := w.jobs.ExtendMediaLease(jctx, j.ID, w.owner, w.opt.Lease); err != nil && jctx.Err() == nil {
					w.log.Warn("media lease lost", "job", j.ID, "err", err)
					cancel()
					return
				}
			}
		}
	}()
	res, err := w.download(jctx, j)
	cancel()
	<-hb
	if ctx.Err() != nil {
		return models.MediaOutcome{}, false
	}
	return w.outcome(j, res, err), true
}

func (w *Worker) download(ctx context.Context, j models.MediaJob) (Result, error) {
	src, err := w.sources.MediaSource(ctx, j.PhoneNumberID)
	if err != nil {
		return Result{}, &Error{Outcome: Transient, Reason: "number: " + clip(err.Error(), 200), Err: err}
	}
	return w.dl.Download(ctx, src, Request{MediaID: j.MediaID, SHA256: j.ExpectedSHA256, MimeType: j.MimeType})
}

// outcome turns a download's result into the job's next state.
func (w *Worker) outcome(j models.MediaJob, res Result, err error) models.MediaOutcome {
	o := models.MediaOutcome{ID: j.ID}
	if err == nil {
		o.State, o.SHA256, o.Size, o.MimeType = models.MediaDone, res.SHA256, res.Size, res.MimeType
		return o
	}
	w.log.Info("media download failed", "job", j.ID, "attempt", j.Attempts, "err", err.Error())
	kind, hint := OutcomeOf(err)
	o.Error = err.Error()
	switch {
	case kind == Expired:
		o.State = models.MediaExpired
	case kind == Permanent:
		o.State = models.MediaFailed
	case j.Attempts >= w.opt.MaxAttempts:
		o.State, o.Error = models.MediaFailed, fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, err.Error())
	default:
		o.State, o.Next = models.MediaPending, w.opt.Now().Add(w.backoff(j.Attempts, hint))
	}
	return o
}

// backoff is exponential with full jitter, at least the provider's hint.
func (w *Worker) backoff(attempt int, hint time.Duration) time.Duration {
	d := w.opt.BackoffBase << min(max(attempt-1, 0), 20)
	if d > w.opt.BackoffCap || d <= 0 {
		d = w.opt.BackoffCap
	}
	d = d/2 + time.Duration(mrand.Int64N(int64(d/2)+1))
	return max(d, hint)
}

// ErrNoToken is returned by sources for a number without a usable token.
var ErrNoToken = errors.New("no access token")
