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
	CompleteMediaJob(ctx context.Context, id uint64, owner, sha256 string, size int64, mimeType string) error
	RetryMediaJob(ctx context.Context, id uint64, owner, errText string, next time.Time) error
	EndMediaJob(ctx context.Context, id uint64, owner, state, reason string) error
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

// Notify wakes the worker (new jobs were created).
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs due jobs until ctx ends, at most Concurrency at once.
func (w *Worker) Run(ctx context.Context) error {
	slots := make(chan struct{}, w.opt.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, w.opt.Concurrency)
	for {
		free := w.opt.Concurrency - len(slots)
		claimed := 0
		if free > 0 {
			if w.opt.Yield != nil {
				w.opt.Yield(ctx)
			}
			jobs, err := w.jobs.ClaimMediaJobs(ctx, w.owner, w.opt.Lease, free)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("media jobs not claimed", "err", err)
			}
			claimed = len(jobs)
			for _, j := range jobs {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.runJob(ctx, j)
					<-slots
					select {
					case done <- struct{}{}:
					default:
					}
				}()
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if claimed > 0 && claimed == free {
			// More may be due: claim again as soon as a slot frees.
			select {
			case <-ctx.Done():
				return nil
			case <-done:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-done:
		case <-time.After(w.opt.Poll):
		}
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
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() { defer wg.Done(); w.runJob(ctx, j) }()
		}
		wg.Wait()
		total += len(jobs)
	}
}

// runJob downloads one leased job and records its outcome.
func (w *Worker) runJob(ctx context.Context, j models.MediaJob) {
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
		return // shutting down: the lease expires and another worker resumes the job
	}
	w.record(ctx, j, res, err)
}

func (w *Worker) download(ctx context.Context, j models.MediaJob) (Result, error) {
	src, err := w.sources.MediaSource(ctx, j.PhoneNumberID)
	if err != nil {
		return Result{}, &Error{Outcome: Transient, Reason: "number: " + clip(err.Error(), 200), Err: err}
	}
	return w.dl.Download(ctx, src, Request{MediaID: j.MediaID, SHA256: j.ExpectedSHA256, MimeType: j.MimeType})
}

func (w *Worker) record(ctx context.Context, j models.MediaJob, res Result, err error) {
	var rerr error
	if err == nil {
		rerr = w.jobs.CompleteMediaJob(ctx, j.ID, w.owner, res.SHA256, res.Size, res.MimeType)
		w.log.Debug("media stored", "job", j.ID, "size", res.Size, "dedup", res.Dedup)
	} else {
		outcome, hint := OutcomeOf(err)
		switch {
		case outcome == Expired:
			rerr = w.jobs.EndMediaJob(ctx, j.ID, w.owner, models.MediaExpired, err.Error())
		case outcome == Permanent:
			rerr = w.jobs.EndMediaJob(ctx, j.ID, w.owner, models.MediaFailed, err.Error())
		case j.Attempts >= w.opt.MaxAttempts:
			rerr = w.jobs.EndMediaJob(ctx, j.ID, w.owner, models.MediaFailed,
				fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, err.Error()))
		default:
			rerr = w.jobs.RetryMediaJob(ctx, j.ID, w.owner, err.Error(), w.opt.Now().Add(w.backoff(j.Attempts, hint)))
		}
		w.log.Info("media download failed", "job", j.ID, "attempt", j.Attempts, "err", err.Error())
	}
	if rerr != nil && ctx.Err() == nil {
		w.log.Warn("media job outcome not recorded", "job", j.ID, "err", rerr)
	}
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
