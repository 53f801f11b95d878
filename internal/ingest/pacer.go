package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pollEvery is how often Wait looks again while webhooks are being received.
const pollEvery = 2 * time.Millisecond

// Pacer lets webhooks being received go first: Meta waits for the answer to each webhook,
// nobody waits for a chunk to be applied a few milliseconds later. The receiver marks each
// authenticated webhook with Begin; applying waits with Wait before each inbox row (the
// Worker's Options.Yield) and between the statements of a chunk's message writes
// (store.NewIngester). A nil *Pacer marks nothing and never waits.
type Pacer struct {
	n       atomic.Int64
	maxWait time.Duration
}

// NewPacer returns a Pacer whose Wait lasts at most maxWait each time, so that a steady
// stream of webhooks slows applying down but never stops it.
func NewPacer(maxWait time.Duration) *Pacer { return &Pacer{maxWait: maxWait} }

// Begin marks a webhook being received until end is called (more calls of end change
// nothing).
func (p *Pacer) Begin() (end func()) {
	if p == nil {
		return func() {}
	}
	p.n.Add(1)
	var once sync.Once
	return func() { once.Do(func() { p.n.Add(-1) }) }
}

// Busy reports whether a webhook is being received.
func (p *Pacer) Busy() bool { return p != nil && p.n.Load() > 0 }

// Wait returns once no webhook is being received, after at most the Pacer's maxWait, or
// when ctx ends.
func (p *Pacer) Wait(ctx context.Context) {
	if !p.Busy() {
		return
	}
	deadline := time.Now().Add(p.maxWait)
	for p.Busy() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollEvery):
		}
	}
}
