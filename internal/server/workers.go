package server

import (
	"context"
	"sync"
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

// loops lists the background work: ingest workers and the sync timeout sweeper.
func (s *Services) loops() []loop {
	loops := []loop{{"ingest", s.Ingest.Run}}
	if s.Sync != nil {
		loops = append(loops, loop{"sync-timeout-sweeper", s.Sync.RunSweeper})
	}
	return loops
}
