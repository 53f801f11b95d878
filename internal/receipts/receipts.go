// Package receipts counts the webhooks being received right now, so that background work
// (applying the inbox) can let them go first: Meta waits for the answer to each webhook,
// nobody waits for a chunk to be applied a few milliseconds later.
package receipts

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pollEvery is how often Wait looks again while webhooks are being received.
const pollEvery = 2 * time.Millisecond

// InFlight counts webhooks being received. The zero value is ready; a nil *InFlight counts
// nothing and never waits.
type InFlight struct {
	n atomic.Int64
}

// Begin marks a webhook being received until end is called (more calls of end change
// nothing).
func (f *InFlight) Begin() (end func()) {
	if f == nil {
		return func() {}
	}
	f.n.Add(1)
	var once sync.Once
	return func() { once.Do(func() { f.n.Add(-1) }) }
}

// Busy reports whether a webhook is being received.
func (f *InFlight) Busy() bool { return f != nil && f.n.Load() > 0 }

// Wait returns once no webhook is being received, after at most limit, or when ctx ends.
func (f *InFlight) Wait(ctx context.Context, limit time.Duration) {
	if !f.Busy() {
		return
	}
	deadline := time.Now().Add(limit)
	for f.Busy() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollEvery):
		}
	}
}
