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
	loops := []loop{{"ingest", s.Ingest.Run}, {"session-cleanup", s.cleanSessions}}
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
