package server

import (
	"context"
	"sync"
	"time"
)

// StartWorkers starts the background loops of this instance; the returned channel closes
// when they have all stopped after ctx ends.
func (s *Services) StartWorkers(ctx context.Context) <-chan struct{} {
	var wg sync.WaitGroup
	for _, loop := range s.loops() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loop.run(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Error("background loop stopped", "loop", loop.name, "err", err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

type loop struct {
	name string
	run  func(ctx context.Context) error
}

// loops lists the background work: ingest workers, the sync timeout sweeper and the
// removal of expired sessions.
func (s *Services) loops() []loop {
	loops := []loop{{"ingest", s.Ingest.Run}, {"session-cleanup", s.cleanSessions}, {"inbox-retention", s.purgeInboxBodies}}
	loops = append(loops, loop{"media", s.Media.Run})
	if s.Config.Media.Retention > 0 {
		loops = append(loops, loop{"media-purge", s.purgeMedia})
	}
	if s.Sync != nil {
		loops = append(loops, loop{"sync-timeout-sweeper", s.Sync.RunSweeper})
	}
	return loops
}

// cleanSessions deletes expired and idle sessions and stale sign-in counters now and then
// every 15 minutes until ctx ends.
func (s *Services) cleanSessions(ctx context.Context) error {
	tick := time.NewTicker(15 * time.Minute)
	defer tick.Stop()
	for {
		if n, c, err := s.Auth.CleanUp(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("expired sessions not removed", "err", err)
		} else if n > 0 || c > 0 {
			s.Logger.Info("expired sessions removed", "count", n, "sign_in_counters", c)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Retention of inbox bodies: every retentionEvery, bodies of applied webhooks older than
// Config.InboxRetention are removed retentionBatch rows at a time, with a pause between
// batches that also waits (at most maxIngestYield) for webhooks being received.
const (
	retentionEvery = 10 * time.Minute
	retentionBatch = 100
	retentionPause = 100 * time.Millisecond
)

// purgeInboxBodies runs the retention of inbox bodies now and then every retentionEvery.
func (s *Services) purgeInboxBodies(ctx context.Context) error {
	tick := time.NewTicker(retentionEvery)
	defer tick.Stop()
	for {
		if n, err := s.PurgeInboxOnce(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("inbox bodies not purged", "err", err)
		} else if n > 0 {
			s.Logger.Info("inbox bodies purged", "count", n, "retention", s.Config.InboxRetention)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// PurgeInboxOnce removes, in batches, the bodies of applied webhooks processed more than
// Config.InboxRetention ago, and returns how many it removed.
func (s *Services) PurgeInboxOnce(ctx context.Context) (int64, error) {
	if s.Config.InboxRetention <= 0 {
		return 0, nil
	}
	cutoff := s.Now().Add(-s.Config.InboxRetention)
	var total int64
	for ctx.Err() == nil {
		n, err := s.DB.PurgeInboxBodies(ctx, cutoff, retentionBatch)
		total += n
		if s.OnPurged != nil && n > 0 {
			s.OnPurged(n)
		}
		if err != nil || n < retentionBatch {
			return total, err
		}
		s.Pacer.Wait(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(retentionPause):
		}
	}
	return total, nil
}
