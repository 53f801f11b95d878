package webhook

import (
	"errors"
	"hash"
	"io"
	"sync/atomic"
	"time"
)

// Errors returned by ReadBody. Compare with errors.Is.
var (
	// ErrBusy means the budget of bytes being read is spent: answer 503 so the sender
	// retries later.
	ErrBusy = errors.New("webhook: too many bodies being read")
	// ErrTooLarge means the body is larger than Limits.Max.
	ErrTooLarge = errors.New("webhook: body too large")
	// ErrTooSlow means the body arrived slower than Limits.MinRate after Limits.Grace.
	ErrTooSlow = errors.New("webhook: body arrived too slowly")
	// ErrEmpty means the body was empty.
	ErrEmpty = errors.New("webhook: empty body")
)

// Budget bounds the memory held by webhook bodies being read, across every request of
// the process: a body's buffer is charged as it grows and released once the request is
// answered. A nil *Budget bounds nothing.
type Budget struct {
	limit int64
	used  atomic.Int64
	peak  atomic.Int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// TryAcquire charges n bytes, or reports false (charging nothing) when that would pass the
// limit. It never waits.
func (b *Budget) TryAcquire(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	for {
		cur := b.used.Load()
		if cur+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			for {
				p := b.peak.Load()
				if cur+n <= p || b.peak.CompareAndSwap(p, cur+n) {
					return true
				}
			}
		}
	}
}

// Release gives back n bytes charged by TryAcquire.
func (b *Budget) Release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// InUse is the number of bytes charged now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Limit is the budget's size in bytes (0 for a nil budget).
func (b *Budget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Peak is the most bytes ever charged at once.
func (b *Budget) Peak() int64 {
	if b == nil {
		return 0
	}
	return b.peak.Load()
}

// Limits bound how a body is read.
type Limits struct {
	Max     int64         // largest body accepted
	MinRate int64         // bytes per second the body must average once Grace has passed; 0 for no minimum
	Grace   time.Duration // time allowed before MinRate applies (the first bytes, a slow start)
}

// firstBuffer is the most a body's buffer holds before any of it has arrived; it then
// doubles as bytes arrive, never beyond the announced Content-Length.
const firstBuffer = 4 << 10

// ReadBody reads a body of contentLength bytes (-1 when unknown) from r. Its buffer starts
// at most firstBuffer bytes and grows as bytes arrive (to at most twice what has arrived,
// never beyond contentLength), each growth charged to budget; ErrBusy when the budget is
// spent. Before each read it calls setDeadline with the time by which more bytes must come
// for the body to keep MinRate after Grace (nil for no deadline); a read past it is
// ErrTooSlow. Every byte is also written to sink (the signature's HMAC, computed while the
// body arrives; may be nil). The caller must call release once the body is no longer
// used, on error too.
func ReadBody(r io.Reader, contentLength int64, budget *Budget, lim Limits, setDeadline func(time.Time) error, sink hash.Hash) (body []byte, release func(), err error) {
	var charged int64
	release = func() {
		budget.Release(charged)
		charged = 0
	}
	if contentLength > lim.Max {
		return nil, release, ErrTooLarge
	}
	if contentLength == 0 {
		return nil, release, ErrEmpty
	}
	// Bytes the buffer may ever need: the announced length, or one past the maximum to
	// tell a too-large chunked body.
	ceiling := lim.Max + 1
	if contentLength > 0 {
		ceiling = contentLength
	}
	grow := func(buf []byte) ([]byte, error) {
		size := min(max(2*int64(cap(buf)), firstBuffer), ceiling)
		if !budget.TryAcquire(size) {
			return buf, ErrBusy
		}
		next := make([]byte, len(buf), size)
		copy(next, buf)
		budget.Release(int64(cap(buf)))
		charged += size - int64(cap(buf))
		return next, nil
	}
	buf, err := grow(nil)
	if err != nil {
		return nil, release, err
	}
	start := time.Now()
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= ceiling {
				if contentLength < 0 {
					return nil, release, ErrTooLarge
				}
				// The announced length has arrived; the server ends the body there.
				break
			}
			if buf, err = grow(buf); err != nil {
				return nil, release, err
			}
		}
		if setDeadline != nil && lim.MinRate > 0 {
			due := start.Add(lim.Grace + time.Duration(float64(len(buf)+1)/float64(lim.MinRate)*float64(time.Second)))
			if err := setDeadline(due); err != nil {
				setDeadline = nil
			}
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		if n > 0 && sink != nil {
			sink.Write(buf[len(buf) : len(buf)+n])
		}
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if isTimeout(rerr) {
				return nil, release, ErrTooSlow
			}
			return nil, release, rerr
		}
	}
	if len(buf) == 0 {
		return nil, release, ErrEmpty
	}
	if setDeadline != nil {
		_ = setDeadline(time.Time{})
	}
	return buf, release, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
