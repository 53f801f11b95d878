package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"coexhistory/internal/store"
	"coexhistory/internal/webhook"
)

// AttackOptions tune Attack. The zero value is the load test.
type AttackOptions struct {
	Duration     time.Duration // how long the attack lasts; default 30 s
	Tricklers    int           // connections trickling 5 MB bodies with a bogus signature; default 400
	TrickleRate  int           // bytes per second each trickler sends; default 2,000
	HeaderOnly   int           // connections that send headers and no body; default 1,000
	Signed       int           // signed webhooks the fifth sender delivers; default 20
	SignedMB     float64       // size of each signed webhook in MB; default 3
	RetryAfter   time.Duration // the fifth sender's wait after a 503 (Meta waits longer); default 250 ms
	HealthzEvery time.Duration // interval of the /healthz probe; default 50 ms
	Keep         bool          // leave the signed webhooks' inbox rows in the database
}

func (o AttackOptions) withDefaults() AttackOptions {
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Tricklers < 0 {
		o.Tricklers = 0
	} else if o.Tricklers == 0 {
		o.Tricklers = 400
	}
	if o.TrickleRate <= 0 {
		o.TrickleRate = 2000
	}
	if o.HeaderOnly < 0 {
		o.HeaderOnly = 0
	} else if o.HeaderOnly == 0 {
		o.HeaderOnly = 1000
	}
	if o.Signed <= 0 {
		o.Signed = 20
	}
	if o.SignedMB <= 0 {
		o.SignedMB = 3
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 250 * time.Millisecond
	}
	if o.HealthzEvery <= 0 {
		o.HealthzEvery = 50 * time.Millisecond
	}
	return o
}

// AttackTarget is the server under attack.
type AttackTarget struct {
	URL       string
	AppSecret string
	// RSS returns the server's resident memory now, PeakRSS its peak (VmHWM); nil when
	// they cannot be measured.
	RSS, PeakRSS func() (int64, error)
}

// AttackTarget describes the child for Attack.
func (p *ServerProcess) AttackTarget() AttackTarget {
	return AttackTarget{URL: p.URL, AppSecret: p.AppSecret, RSS: p.RSS, PeakRSS: p.PeakRSS}
}

// RSS returns the child's resident memory now (VmRSS).
func (p *ServerProcess) RSS() (int64, error) { return procStatusBytes(p.PID(), "VmRSS:") }

// AttackReport are the figures of one attack.
type AttackReport struct {
	Options      AttackOptions
	MaxRSS       int64 // highest VmRSS sampled; 0 when not measured
	PeakRSS      int64 // VmHWM at the end
	RSSSamples   int
	Healthz      []time.Duration // every /healthz probe, sorted
	HealthzFails int             // probes that failed or did not answer 200

	TrickleConns   int64           // connections the tricklers opened
	TrickleCutoffs []time.Duration // how long the server let each trickled body run before cutting it off, sorted
	TrickleStatus  map[int]int64   // what the server answered them
	HeaderConns    int64           // connections of the header-only senders
	HeaderClosed   []time.Duration // how long the server kept each of them, sorted

	SignedSent    int             // signed webhooks answered 200
	SignedStored  int             // of them, found in the inbox afterwards
	Attempts      map[int]int     // answers to the signed webhooks by status (0: no answer)
	Answers200    []time.Duration // answer times of the 200s, sorted
	Answers503    []time.Duration // answer times of the 503s, sorted
	SlowAnswers   int             // attempts answered after more than 1 s, or not at all
	SignedPending int             // signed webhooks still not accepted when the attack ended
}

// Met reports whether the figures meet the targets: RSS ≤ 256 MB, /healthz p95 ≤ 100 ms,
// every signed webhook answered within 1 s and every one stored.
func (r AttackReport) Met() bool {
	return r.MaxRSS <= 256<<20 && r.PeakRSS <= 256<<20 && pct(r.Healthz, 0.95) <= 100*time.Millisecond &&
		r.HealthzFails == 0 && r.SlowAnswers == 0 && r.SignedPending == 0 && r.SignedStored == r.Options.Signed
}

// Attack runs the receiver's load test against target: Tricklers connections trickling
// 5 MB bodies with a bogus (well-formed) signature and HeaderOnly connections sending
// headers but no body (half announce a 5 MB body and send none of it, half never finish
// their headers), each reconnecting when the server cuts it off, for Duration; meanwhile it
// samples the server's RSS, probes /healthz on fresh connections, and a fifth sender
// delivers Signed signed webhooks, retrying after each 503 as Meta would. db is the
// server's database: each signed webhook must be in its inbox afterwards (the rows are
// deleted at the end unless Keep).
func Attack(ctx context.Context, db *store.DB, target AttackTarget, opts AttackOptions, w io.Writer) (AttackReport, error) {
	opts = opts.withDefaults()
	rep := AttackReport{Options: opts, TrickleStatus: map[int]int64{}, Attempts: map[int]int{}}
	u, err := url.Parse(target.URL)
	if err != nil || u.Host == "" {
		return rep, fmt.Errorf("attack: bad server URL %q", target.URL)
	}
	host := u.Host
	fmt.Fprintf(w, "attack: %d connections trickling 5 MB bodies with a bogus signature (%s/s each) + %d header-only connections for %s against %s (%s)\n",
		opts.Tricklers, humanBytes(int64(opts.TrickleRate)), opts.HeaderOnly, opts.Duration, target.URL, db.Dialect())
	fmt.Fprintf(w, "        a fifth sender posts %d signed %g MB webhooks, retrying %s after each 503\n", opts.Signed, opts.SignedMB, opts.RetryAfter)

	bodies := make([][]byte, opts.Signed)
	runID := randomHex(6)
	for i := range bodies {
		bodies[i] = attackBody(runID, i, int(opts.SignedMB*1e6))
	}
	defer func() {
		if !opts.Keep {
			_, _ = db.DeleteInboxBodies(context.WithoutCancel(ctx), bodySums(bodies))
		}
	}()

	actx, stop := context.WithTimeout(ctx, opts.Duration)
	defer stop()
	var wg sync.WaitGroup
	var mu sync.Mutex

	// RSS sampler.
	wg.Go(func() {
		if target.RSS == nil {
			return
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := target.RSS(); err == nil {
				mu.Lock()
				rep.MaxRSS = max(rep.MaxRSS, n)
				rep.RSSSamples++
				mu.Unlock()
			}
			select {
			case <-actx.Done():
				return
			case <-tick.C:
			}
		}
	})

	// Tricklers.
	bogus := "sha256=" + strings.Repeat("0", 64)
	trickleHead := fmt.Sprintf("POST /webhooks/whatsapp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s: %s\r\n\r\n",
		host, 5<<20, webhook.SignatureHeader, bogus)
	step := max(opts.TrickleRate/10, 1)
	for range opts.Tricklers {
		wg.Go(func() {
			for actx.Err() == nil {
				started := time.Now()
				status, cut := holdConnection(actx, host, trickleHead, func(c net.Conn) error {
					_, err := c.Write(bytes.Repeat([]byte("a"), step))
					return err
				})
				mu.Lock()
				rep.TrickleConns++
				if cut {
					rep.TrickleCutoffs = append(rep.TrickleCutoffs, time.Since(started))
					rep.TrickleStatus[status]++
				}
				mu.Unlock()
			}
		})
	}

	// Header-only connections: half announce a body and send none, half trickle their
	// headers a byte every 100 ms and never finish them.
	silentHead := fmt.Sprintf("POST /webhooks/whatsapp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s: %s\r\n\r\n",
		host, 5<<20, webhook.SignatureHeader, bogus)
	partialHead := fmt.Sprintf("POST /webhooks/whatsapp HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", host, 5<<20)
	for i := range opts.HeaderOnly {
		wg.Go(func() {
			for actx.Err() == nil {
				started := time.Now()
				var next func(net.Conn) error
				head := silentHead
				if i%2 == 1 {
					head = partialHead
					next = func(c net.Conn) error { _, err := c.Write([]byte("X")); return err }
				}
				_, cut := holdConnection(actx, host, head, next)
				mu.Lock()
				rep.HeaderConns++
				if cut {
					rep.HeaderClosed = append(rep.HeaderClosed, time.Since(started))
				}
				mu.Unlock()
			}
		})
	}

	// /healthz on a fresh connection each time, as a load balancer probes.
	wg.Go(func() {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		tick := time.NewTicker(opts.HealthzEvery)
		defer tick.Stop()
		for {
			select {
			case <-actx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			res, err := client.Get(target.URL + "/healthz")
			took := time.Since(start)
			ok := err == nil && res.StatusCode == http.StatusOK
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			if actx.Err() != nil {
				return
			}
			mu.Lock()
			rep.Healthz = append(rep.Healthz, took)
			if !ok {
				rep.HealthzFails++
			}
			mu.Unlock()
		}
	})

	// The fifth sender starts once the attack is in full swing.
	accepted := make([]bool, len(bodies))
	wg.Go(func() {
		select {
		case <-actx.Done():
			return
		case <-time.After(min(2*time.Second, opts.Duration/4)):
		}
		client := &http.Client{Timeout: 5 * time.Second}
		for i, body := range bodies {
			for actx.Err() == nil {
				req, _ := http.NewRequestWithContext(context.WithoutCancel(actx), http.MethodPost, target.URL+"/webhooks/whatsapp", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(target.AppSecret), body))
				start := time.Now()
				res, err := client.Do(req)
				took := time.Since(start)
				status := 0
				if err == nil {
					status = res.StatusCode
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				mu.Lock()
				rep.Attempts[status]++
				switch status {
				case http.StatusOK:
					rep.Answers200 = append(rep.Answers200, took)
				case http.StatusServiceUnavailable:
					rep.Answers503 = append(rep.Answers503, took)
				}
				if status == 0 || took > time.Second {
					rep.SlowAnswers++
				}
				mu.Unlock()
				if status == http.StatusOK {
					accepted[i] = true
					rep.SignedSent++
					break
				}
				select {
				case <-actx.Done():
				case <-time.After(opts.RetryAfter):
				}
			}
			if actx.Err() != nil {
				return
			}
		}
	})

	wg.Wait()
	if target.PeakRSS != nil {
		rep.PeakRSS, _ = target.PeakRSS()
	}
	for i, b := range bodies {
		if !accepted[i] {
			rep.SignedPending++
			continue
		}
		states, err := db.InboxStatesOfBodies(ctx, bodySums([][]byte{b}))
		if err != nil {
			return rep, fmt.Errorf("attack: look for the signed webhooks: %w", err)
		}
		var n int64
		for _, c := range states {
			n += c
		}
		if n == 1 {
			rep.SignedStored++
		}
	}
	for _, d := range [][]time.Duration{rep.Healthz, rep.TrickleCutoffs, rep.HeaderClosed, rep.Answers200, rep.Answers503} {
		slices.Sort(d)
	}
	printAttack(w, rep)
	if !rep.Met() {
		return rep, errors.New("attack: the targets were not met")
	}
	return rep, nil
}

// holdConnection opens a connection, writes head, then calls next every 100 ms (nil: sends
// nothing more) until the server answers or closes the connection, or ctx ends. It returns
// the status the server answered (0 for none) and whether the server ended it.
func holdConnection(ctx context.Context, host, head string, next func(net.Conn) error) (status int, cut bool) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		time.Sleep(100 * time.Millisecond)
		return 0, false
	}
	defer c.Close()
	if _, err := io.WriteString(c, head); err != nil {
		return 0, true
	}
	answered := make(chan int, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, false
		case s := <-answered:
			return s, true
		case <-tick.C:
			if next != nil {
				if err := next(c); err != nil {
					select {
					case s := <-answered:
						return s, true
					case <-time.After(time.Second):
						return 0, true
					}
				}
			}
		}
	}
}

// attackBody is a signed-webhook body of about size bytes under a field ingest keeps raw.
func attackBody(runID string, i, size int) []byte {
	pad := make([]byte, size*3/4)
	_, _ = rand.Read(pad)
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"attack-%s","changes":[{"value":{"n":%d,"pad":%q},"field":"bench_attack"}]}]}`,
		runID, i, base64.StdEncoding.EncodeToString(pad))
}

func printAttack(w io.Writer, r AttackReport) {
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "NOT MET"
	}
	fmt.Fprintln(w)
	if r.RSSSamples > 0 {
		fmt.Fprintf(w, "  server RSS            max %s over %d samples (every 100 ms), peak (VmHWM) %s    target ≤ 256 MB: %s\n",
			mb(r.MaxRSS), r.RSSSamples, mb(r.PeakRSS), verdict(r.MaxRSS <= 256<<20 && r.PeakRSS <= 256<<20))
	} else {
		fmt.Fprintln(w, "  server RSS            not measured (the server is not a child of this command)")
	}
	p95 := pct(r.Healthz, 0.95)
	fmt.Fprintf(w, "  /healthz              p50 %s  p95 %s  max %s over %d probes, %d failed    target p95 ≤ 100 ms: %s\n",
		millis(pct(r.Healthz, 0.5)), millis(p95), millis(last(r.Healthz)), len(r.Healthz), r.HealthzFails,
		verdict(p95 <= 100*time.Millisecond && r.HealthzFails == 0))
	fmt.Fprintf(w, "  trickled bodies       %d connections; %d cut off by the server after p50 %s, max %s (answers: %s)\n",
		r.TrickleConns, len(r.TrickleCutoffs), seconds(pct(r.TrickleCutoffs, 0.5)), seconds(last(r.TrickleCutoffs)), statusCounts(r.TrickleStatus))
	fmt.Fprintf(w, "  header-only           %d connections; %d closed by the server after p50 %s, max %s\n",
		r.HeaderConns, len(r.HeaderClosed), seconds(pct(r.HeaderClosed, 0.5)), seconds(last(r.HeaderClosed)))
	attempts := 0
	for _, n := range r.Attempts {
		attempts += n
	}
	fmt.Fprintf(w, "  signed webhooks       %d of %d accepted, %d stored; %d attempts (%s)\n",
		r.SignedSent, r.Options.Signed, r.SignedStored, attempts, statusCounts(r.Attempts))
	fmt.Fprintf(w, "                        200 answered in p50 %s, max %s; 503 in p50 %s, max %s; %d answers over 1 s    target all ≤ 1 s and stored: %s\n",
		millis(pct(r.Answers200, 0.5)), millis(last(r.Answers200)), millis(pct(r.Answers503, 0.5)), millis(last(r.Answers503)),
		r.SlowAnswers, verdict(r.SlowAnswers == 0 && r.SignedPending == 0 && r.SignedStored == r.Options.Signed))
}

func statusCounts[N int | int64](m map[int]N) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%d×%s", m[k], name))
	}
	return strings.Join(parts, ", ")
}

func last(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

func humanBytes(n int64) string {
	if n >= 1000 {
		return fmt.Sprintf("%.0f kB", float64(n)/1000)
	}
	return fmt.Sprintf("%d B", n)
}

// procStatusBytes reads a "kB" line of /proc/<pid>/status (VmRSS:, VmHWM:).
func procStatusBytes(pid int, key string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// pct is the p-quantile (0..1) of sorted durations; 0 for none.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return percentile(sorted, p*100)
}

// bodySums are the SHA-256 (hex) of bodies, as the inbox keys them.
func bodySums(bodies [][]byte) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		sum := sha256.Sum256(b)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}
