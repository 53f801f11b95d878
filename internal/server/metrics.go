package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/metrics"
	"coexhistory/internal/provider"
	"coexhistory/models"
)

// metricsSnapshot reads the database figures of a scrape.
func (s *Services) metricsSnapshot(ctx context.Context) (metrics.Snapshot, error) {
	var snap metrics.Snapshot
	h, err := s.DB.InboxHealth(ctx)
	if err != nil {
		return snap, err
	}
	now := s.Now()
	snap.InboxRows = h.Counts
	if !h.OldestPending.IsZero() {
		snap.OldestPending = max(now.Sub(h.OldestPending), 0)
	}
	runs, err := s.DB.SyncRuns(ctx)
	if err != nil {
		return snap, err
	}
	snap.SyncRuns = map[string]int{}
	for _, r := range runs {
		snap.SyncRuns[r.State]++
		if r.State != models.SyncRequested && r.State != models.SyncReceiving {
			continue
		}
		var last time.Time
		for _, t := range []*time.Time{r.RequestedAt, r.FirstChunkAt, r.LastChunkAt} {
			if t != nil && t.After(last) {
				last = *t
			}
		}
		if !last.IsZero() {
			snap.SyncStalled = max(snap.SyncStalled, now.Sub(last))
		}
	}
	if snap.MediaJobs, err = s.DB.MediaJobCounts(ctx); err != nil {
		return snap, err
	}
	return snap, nil
}

// providerHTTP is the HTTP client of calls to provider, counted and timed.
func (s *Services) providerHTTP(name string) *http.Client {
	return &http.Client{Transport: s.Metrics.Transport(name, nil)}
}

// countRetries makes p count each retry of a call to provider in the metrics.
func (s *Services) countRetries(name string, p provider.RetryPolicy) provider.RetryPolicy {
	sleep := p.Sleep
	p.Sleep = func(ctx context.Context, d time.Duration) error {
		s.Metrics.Retry(name)
		if sleep != nil {
			return sleep(ctx, d)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	return p
}

// httpMetrics times every request into m by its route pattern.
func httpMetrics(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				var he *echo.HTTPError
				if errors.As(err, &he) {
					status = he.Code
				} else if status < 400 {
					status = http.StatusInternalServerError
				}
			}
			m.HTTPRequest(c.Request().Method, c.Path(), status, time.Since(start))
			return err
		}
	}
}
