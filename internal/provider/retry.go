package provider

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// RetryPolicy is exponential back-off with full jitter: before retry n (1, 2, ...) the client
// waits a random time in [0, min(Cap, Base*Factor^(n-1))), at least what the upstream asked
// for (Retry-After, X-Business-Use-Case-Usage) and never more than Cap. Zero fields take the
// defaults of DefaultRetryPolicy.
type RetryPolicy struct {
	MaxAttempts    int           // calls in all, including the first; default 6
	Base           time.Duration // default 1 s
	Factor         float64       // default 2
	Cap            time.Duration // longest single wait; default 5 min
	AttemptTimeout time.Duration // limit of one call; default 15 s

	Rand  func() float64                                   // in [0, 1); default math/rand/v2.Float64
	Sleep func(ctx context.Context, d time.Duration) error // default: a timer that stops on ctx
}

// DefaultRetryPolicy is the policy the clients use when given a zero RetryPolicy.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    6,
		Base:           time.Second,
		Factor:         2,
		Cap:            5 * time.Minute,
		AttemptTimeout: 15 * time.Second,
		Rand:           rand.Float64,
		Sleep:          sleepContext,
	}
}

// withDefaults fills the zero fields of p.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Base <= 0 {
		p.Base = d.Base
	}
	if p.Factor < 1 {
		p.Factor = d.Factor
	}
	if p.Cap <= 0 {
		p.Cap = d.Cap
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = d.AttemptTimeout
	}
	if p.Rand == nil {
		p.Rand = d.Rand
	}
	if p.Sleep == nil {
		p.Sleep = d.Sleep
	}
	return p
}

// wait is the pause before retry n (1-based), at least least, at most Cap.
func (p RetryPolicy) wait(n int, least time.Duration) time.Duration {
	ceiling := float64(p.Base) * math.Pow(p.Factor, float64(n-1))
	ceiling = math.Min(ceiling, float64(p.Cap))
	r := p.Rand()
	if !(r >= 0) { // also NaN
		r = 0
	}
	d := time.Duration(math.Min(r, 1) * ceiling)
	return min(max(d, least), p.Cap)
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
