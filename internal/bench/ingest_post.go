package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"coexhistory/internal/sim"
	"coexhistory/internal/webhook"
)

// spool keeps the generated webhook bodies, signed, in a temporary file: generating them
// while the run is timed would take CPU from the server being measured.
type spool struct {
	f      *os.File
	bodies []spooledBody
	bytes  int64
	phases [3]int // chunks per phase
}

type spooledBody struct {
	off  int64
	size int
	sig  string // X-Hub-Signature-256
	sha  string // hex SHA-256, as the inbox keeps it: how the run finds its own rows
	info sim.ChunkInfo
}

// writeSpool generates every body of stream into a new file in dir, signed with secret.
func writeSpool(dir string, stream *sim.HistoryStream, secret []byte) (*spool, error) {
	f, err := os.CreateTemp(dir, "coexhistory-bench-ingest-*.spool")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	sp := &spool{f: f}
	for {
		body, info, ok := stream.Next()
		if !ok {
			break
		}
		if _, err := f.Write(body); err != nil {
			sp.Close()
			return nil, fmt.Errorf("spool: %w", err)
		}
		sum := sha256.Sum256(body)
		sp.bodies = append(sp.bodies, spooledBody{off: sp.bytes, size: len(body), sig: webhook.Sign(secret, body), sha: hex.EncodeToString(sum[:]), info: info})
		sp.bytes += int64(len(body))
		sp.phases[info.Phase]++
	}
	return sp, nil
}

// read returns body i, reusing buf.
func (sp *spool) read(i int, buf []byte) ([]byte, error) {
	b := sp.bodies[i]
	buf = slices.Grow(buf[:0], b.size)[:b.size]
	if _, err := sp.f.ReadAt(buf, b.off); err != nil {
		return nil, fmt.Errorf("spool: read body %d: %w", i, err)
	}
	return buf, nil
}

// Close removes the file.
func (sp *spool) Close() {
	_ = sp.f.Close()
	_ = os.Remove(sp.f.Name())
}

// ack is the answer time of one webhook delivery.
type ack struct {
	latency time.Duration
	size    int
}

// postResult is what posting every body took.
type postResult struct {
	acks    []ack
	retries int // deliveries repeated after a 5xx or a connection error, as Meta would
	start   time.Time
	took    time.Duration
}

// maxDeliveryAttempts bounds the retries of one body.
const maxDeliveryAttempts = 6

// postAll posts every spooled body to the Meta webhook route of baseURL with concurrency
// senders, in spool order, and records each answer's latency. baseURL may list several
// servers separated by commas: body i goes to server i mod n, and each retry to the next
// one (a load balancer in front of several instances). Any answer but 200, after retries
// for 5xx and connection errors, fails the run.
func postAll(ctx context.Context, client *http.Client, baseURL string, sp *spool, concurrency int) (postResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var urls []string
	for _, u := range strings.Split(baseURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, strings.TrimRight(u, "/")+"/webhooks/whatsapp")
		}
	}
	next := make(chan int)
	var (
		mu       sync.Mutex
		res      = postResult{acks: make([]ack, 0, len(sp.bodies))}
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for range max(1, concurrency) {
		wg.Go(func() {
			var buf []byte
			for i := range next {
				body, err := sp.read(i, buf)
				if err != nil {
					fail(err)
					return
				}
				buf = body
				latency, retries, err := deliver(ctx, client, urls, i, body, sp.bodies[i].sig)
				if err != nil {
					fail(fmt.Errorf("webhook %d (chunk %d/%d): %w", i, sp.bodies[i].info.Phase, sp.bodies[i].info.ChunkOrder, err))
					return
				}
				mu.Lock()
				res.acks = append(res.acks, ack{latency: latency, size: len(body)})
				res.retries += retries
				mu.Unlock()
			}
		})
	}
	res.start = time.Now()
feed:
	for i := range sp.bodies {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	res.took = time.Since(res.start)
	if firstErr != nil {
		return res, firstErr
	}
	return res, ctx.Err()
}

// deliver posts one signed body until it is answered 200, and returns the latency of that
// answer.
func deliver(ctx context.Context, client *http.Client, urls []string, i int, body []byte, sig string) (time.Duration, int, error) {
	var lastErr error
	for attempt := range maxDeliveryAttempts {
		url := urls[(i+attempt)%len(urls)]
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, attempt - 1, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, attempt, fmt.Errorf("request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sig)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, attempt, ctx.Err()
			}
			lastErr = err
			continue
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		latency := time.Since(start)
		switch {
		case resp.StatusCode == http.StatusOK:
			return latency, attempt, nil
		case resp.StatusCode >= 500:
			lastErr = fmt.Errorf("answered %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
		default:
			return 0, attempt, fmt.Errorf("answered %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
		}
	}
	return 0, maxDeliveryAttempts - 1, fmt.Errorf("no 200 after %d attempts: %w", maxDeliveryAttempts, lastErr)
}

// AckStats summarises webhook answer times.
type AckStats struct {
	N                  int
	MinSize, MaxSize   int // body sizes in bytes
	MeanSize           int
	P50, P95, P99, Max time.Duration
}

// ackStats summarises the acks whose body size is at least minSize.
func ackStats(acks []ack, minSize int) AckStats {
	var lat []time.Duration
	var st AckStats
	var total int64
	for _, a := range acks {
		if a.size < minSize {
			continue
		}
		lat = append(lat, a.latency)
		total += int64(a.size)
		if st.N == 0 || a.size < st.MinSize {
			st.MinSize = a.size
		}
		st.MaxSize = max(st.MaxSize, a.size)
		st.N++
	}
	if st.N == 0 {
		return st
	}
	slices.Sort(lat)
	st.MeanSize = int(total / int64(st.N))
	st.P50, st.P95, st.P99, st.Max = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), lat[len(lat)-1]
	return st
}

// errNoBodies is returned for a history that produced no webhook.
var errNoBodies = errors.New("the generated history has no webhook bodies")
