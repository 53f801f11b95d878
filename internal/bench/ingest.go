package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"coexhistory/internal/sim"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// IngestOptions tune Ingest. The zero value is the benchmark.
type IngestOptions struct {
	Messages    int     // messages in the generated history; default 1,000,000
	Threads     int     // chats; default 20,000 (at most Messages)
	BodyMB      float64 // mean webhook body size in MB; bodies vary from half to 1.5 times it; default 2
	Concurrency int     // concurrent senders; default 4
	Seed        int64   // generator seed; default 1
	Keep        bool    // leave the run's messages, threads and inbox rows in the database
	SpoolDir    string  // where the generated bodies wait; default the system's temporary directory
	// Onboarded is day 0 of the history (the last message is just before it); default the
	// start of the current hour.
	Onboarded time.Time
	// PollInterval is how often the database is polled for the applied rows; default 50 ms.
	PollInterval time.Duration
	// Stall fails the run when the inbox makes no progress for this long; default 3 minutes.
	Stall time.Duration
}

func (o IngestOptions) withDefaults() IngestOptions {
	if o.Messages <= 0 {
		o.Messages = 1_000_000
	}
	if o.Threads <= 0 {
		o.Threads = 20_000
	}
	o.Threads = min(o.Threads, o.Messages)
	if o.BodyMB <= 0 {
		o.BodyMB = 2
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Onboarded.IsZero() {
		o.Onboarded = time.Now().Truncate(time.Hour)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.Stall <= 0 {
		o.Stall = 3 * time.Minute
	}
	return o
}

// The targets (MariaDB on a 2-core machine, a 1M-message sync).
const (
	TargetMessagesPerSecond = 25_000
	TargetCeilingRatio      = 0.6
	TargetAckP95            = 150 * time.Millisecond // for 3 MB bodies
	TargetPeakRSS           = 128 << 20
	TargetReplayShare       = 0.8
)

// IngestReport holds the figures of one run.
type IngestReport struct {
	Dialect       string
	PhoneNumberID string
	Messages      int
	Threads       int
	Bodies        int
	Bytes         int64
	ChunksByPhase [3]int
	Senders       int
	Workers       int

	Fresh     time.Duration // first post → last inbox row applied with every message counted
	PostFresh time.Duration // first post → last answer
	Acks      AckStats      // every fresh delivery
	LargeAcks AckStats      // deliveries of bodies of at least 1.25 × the mean size
	Retries   int           // deliveries repeated after a 5xx or a connection error
	PeakRSS   int64         // server VmHWM in bytes; 0 when not measured
	FreshCPU  time.Duration // server CPU time during the fresh sync; 0 when not measured

	CeilingRows         int
	CeilingPerStatement int
	CeilingConnections  int // as many as the server's ingest workers (one on SQLite)
	Ceiling             time.Duration

	Repost              time.Duration // re-posting every body (all duplicates)
	RepostAcks          AckStats
	RepostInboxAdded    int64
	RepostMessagesAdded int64

	Reapply              time.Duration // requeue every inbox row → last one applied again
	ReapplyMessagesAdded int64
	ReapplyChanged       bool // a stored message was written again (max updated_at moved)

	// Galera certification conflicts (wsrep_local_cert_failures + wsrep_local_bf_aborts of
	// the node the benchmark polls) during the fresh sync and the re-apply; -1 off Galera.
	FreshConflicts, ReapplyConflicts int64
}

// FreshRate is the end-to-end speed in messages per second.
func (r IngestReport) FreshRate() float64 { return rate(r.Messages, r.Fresh) }

// CeilingRate is the database's raw upsert speed in rows per second.
func (r IngestReport) CeilingRate() float64 { return rate(r.CeilingRows, r.Ceiling) }

// ReapplyRate is the speed of re-applying every inbox row, in messages per second.
func (r IngestReport) ReapplyRate() float64 { return rate(r.Messages, r.Reapply) }

// Ratio is the end-to-end speed as a share of the ceiling.
func (r IngestReport) Ratio() float64 {
	if r.CeilingRate() == 0 {
		return 0
	}
	return r.FreshRate() / r.CeilingRate()
}

// ReplayShare is the re-apply speed as a share of the fresh speed.
func (r IngestReport) ReplayShare() float64 {
	if r.FreshRate() == 0 {
		return 0
	}
	return r.ReapplyRate() / r.FreshRate()
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Ingest measures the whole ingest path of the server at target over HTTP: it generates a
// 180-day history sync of a new business number (signed history webhooks of about
// opts.BodyMB each, spooled to disk first), posts it with opts.Concurrency senders, polls db
// (the server's database) until every inbox row is applied and every message counted, then
// replays it twice (every body posted again: inbox duplicates; every inbox row requeued:
// the workers apply it all again) checking that nothing is added, stops the server and
// measures the database's raw ceiling on the same rows. It prints as it goes and returns
// the figures. Unless opts.Keep, the run's rows are deleted at the end.
func Ingest(ctx context.Context, db *store.DB, target Target, opts IngestOptions, w io.Writer) (IngestReport, error) {
	opts = opts.withDefaults()
	if target.URL == "" || target.AppSecret == "" {
		return IngestReport{}, errors.New("ingest benchmark: the server's URL and app secret are required")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	spec := sim.HistorySpec{
		Messages:           opts.Messages,
		Threads:            opts.Threads,
		BodyBytes:          int(opts.BodyMB * (1 << 20)),
		Seed:               opts.Seed,
		PhoneNumberID:      fmt.Sprintf("9%014d", rng.Int64N(1e14)),
		DisplayPhoneNumber: fmt.Sprintf("551139%06d", rng.IntN(1e6)),
		WABAID:             fmt.Sprintf("8%014d", rng.Int64N(1e14)),
		Onboarded:          opts.Onboarded.Unix(),
	}
	r := IngestReport{Dialect: db.Dialect(), PhoneNumberID: spec.PhoneNumberID, Messages: spec.Messages,
		Senders: opts.Concurrency, Workers: target.Workers}
	stream, err := sim.NewHistoryStream(spec)
	if err != nil {
		return r, err
	}
	r.Threads = stream.Spec().Threads
	workers := "?"
	if target.Workers > 0 {
		workers = fmt.Sprint(target.Workers)
	}
	fmt.Fprintf(w, "coexhistory ingest benchmark: %s, %s messages in %s threads (number %s), bodies %.1f–%.1f MB, %d senders, %s ingest workers\n",
		r.Dialect, thousands(int64(r.Messages)), thousands(int64(r.Threads)), r.PhoneNumberID, opts.BodyMB/2, opts.BodyMB*1.5, r.Senders, workers)

	genStart := time.Now()
	sp, err := writeSpool(opts.SpoolDir, stream, []byte(target.AppSecret))
	if err != nil {
		return r, err
	}
	defer sp.Close()
	if len(sp.bodies) == 0 {
		return r, errNoBodies
	}
	r.Bodies, r.Bytes, r.ChunksByPhase = len(sp.bodies), sp.bytes, sp.phases
	fmt.Fprintf(w, "generated %d history webhooks (chunks of phase 0/1/2: %d/%d/%d), %s, in %s (spooled to disk, not timed)\n",
		r.Bodies, r.ChunksByPhase[0], r.ChunksByPhase[1], r.ChunksByPhase[2], mb(r.Bytes), seconds(time.Since(genStart)))

	run := &ingestRun{db: db, opts: opts, pnid: spec.PhoneNumberID, bodies: r.Bodies, messages: r.Messages, listed: r.Messages - stream.Reactions()}
	for _, b := range sp.bodies {
		run.shas = append(run.shas, b.sha)
	}
	// The server applies webhooks only to registered numbers.
	if err := db.CreateNumber(ctx, &models.BusinessNumber{Label: "ingest benchmark", DisplayPhoneNumber: spec.DisplayPhoneNumber,
		PhoneNumberID: spec.PhoneNumberID, WABAID: spec.WABAID, Provider: models.ProviderMeta, AccessTokenEnc: []byte("unused")}); err != nil {
		return r, fmt.Errorf("register the benchmark's number: %w", err)
	}
	if !opts.Keep {
		defer func() {
			if err := run.cleanup(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintf(w, "cleanup: %v\n", err)
			}
		}()
	}
	client := &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: opts.Concurrency, DisableCompression: true},
	}
	defer client.CloseIdleConnections()

	// Fresh sync.
	conflictsBefore := clusterConflicts(ctx, db)
	cpuBefore := serverCPU(target)
	posted, err := postAll(ctx, client, target.URL, sp, opts.Concurrency)
	if err != nil {
		return r, fmt.Errorf("post the sync: %w", err)
	}
	r.PostFresh, r.Retries = posted.took, posted.retries
	r.Acks = ackStats(posted.acks, 0)
	r.LargeAcks = ackStats(posted.acks, r.Acks.MeanSize*5/4)
	applied, err := run.waitApplied(ctx)
	if err != nil {
		return r, fmt.Errorf("fresh sync: %w", err)
	}
	r.Fresh = applied.Sub(posted.start)
	if cpuBefore >= 0 {
		r.FreshCPU = serverCPU(target) - cpuBefore
	}
	fmt.Fprintf(w, "fresh sync: %s messages applied in %s = %s msgs/s end to end (all %d bodies answered after %s, %d retried)\n",
		thousands(int64(r.Messages)), seconds(r.Fresh), thousands(int64(r.FreshRate())), r.Bodies, seconds(r.PostFresh), r.Retries)
	r.FreshConflicts = conflictsSince(ctx, db, conflictsBefore)
	if r.FreshConflicts >= 0 {
		fmt.Fprintf(w, "cluster conflicts during the fresh sync (polled node): %d\n", r.FreshConflicts)
	}
	if r.FreshCPU > 0 {
		where := "the database runs in its own process"
		if r.Dialect == store.SQLite {
			where = "SQLite runs inside the server"
		}
		fmt.Fprintf(w, "server CPU during the fresh sync: %s = %.2f cores on average (%s)\n",
			seconds(r.FreshCPU), r.FreshCPU.Seconds()/r.Fresh.Seconds(), where)
	}
	fmt.Fprintf(w, "webhook ack: %s\n", describeAcks(r.Acks))
	if r.LargeAcks.N > 0 && r.LargeAcks.N < r.Acks.N {
		fmt.Fprintf(w, "webhook ack, largest bodies: %s\n", describeAcks(r.LargeAcks))
	}
	updatedBefore, err := run.lastUpdate(ctx)
	if err != nil {
		return r, err
	}

	// Replay 1: every body again. The inbox keeps each body once.
	reposted, err := postAll(ctx, client, target.URL, sp, opts.Concurrency)
	if err != nil {
		return r, fmt.Errorf("re-post the sync: %w", err)
	}
	r.Repost, r.RepostAcks = reposted.took, ackStats(reposted.acks, 0)
	inboxRows, err := run.inboxRows(ctx)
	if err != nil {
		return r, err
	}
	r.RepostInboxAdded = inboxRows - int64(r.Bodies)
	_, msgs, err := run.counts(ctx)
	if err != nil {
		return r, err
	}
	r.RepostMessagesAdded = msgs - int64(run.listed)
	fmt.Fprintf(w, "replay, every body posted again: %d bodies in %s, ack p95 %s; %+d inbox rows, %+d messages\n",
		r.Bodies, seconds(r.Repost), millis(r.RepostAcks.P95), r.RepostInboxAdded, r.RepostMessagesAdded)

	// Replay 2: every inbox row requeued, so the workers apply the whole sync again.
	conflictsBefore = clusterConflicts(ctx, db)
	start := time.Now()
	if err := run.requeueAll(ctx); err != nil {
		return r, err
	}
	applied, err = run.waitApplied(ctx)
	if err != nil {
		return r, fmt.Errorf("re-apply: %w", err)
	}
	r.Reapply = applied.Sub(start)
	r.ReapplyConflicts = conflictsSince(ctx, db, conflictsBefore)
	if r.ReapplyConflicts >= 0 {
		fmt.Fprintf(w, "cluster conflicts during the re-apply (polled node): %d\n", r.ReapplyConflicts)
	}
	_, msgs, err = run.counts(ctx)
	if err != nil {
		return r, err
	}
	r.ReapplyMessagesAdded = msgs - int64(run.listed)
	updatedAfter, err := run.lastUpdate(ctx)
	if err != nil {
		return r, err
	}
	r.ReapplyChanged = updatedAfter != updatedBefore
	changed := "none changed"
	if r.ReapplyChanged {
		changed = "some CHANGED (latest updated_at moved)"
	}
	fmt.Fprintf(w, "replay, every inbox row requeued: applied again in %s = %s msgs/s (%.0f %% of fresh); %+d messages, %s\n",
		seconds(r.Reapply), thousands(int64(r.ReapplyRate())), 100*r.ReplayShare(), r.ReapplyMessagesAdded, changed)

	if target.PeakRSS != nil {
		if r.PeakRSS, err = target.PeakRSS(); err != nil {
			return r, err
		}
		fmt.Fprintf(w, "server peak RSS (VmHWM): %s\n", mb(r.PeakRSS))
	}
	if target.Stop != nil {
		if err := target.Stop(); err != nil {
			fmt.Fprintf(w, "stopping the server: %v\n", err)
		}
	}

	ceiling, err := rawCeiling(ctx, db, sp, target.Workers)
	if err != nil {
		return r, err
	}
	r.CeilingRows, r.CeilingPerStatement, r.CeilingConnections, r.Ceiling = ceiling.rows, ceiling.perStatement, ceiling.connections, ceiling.took
	fmt.Fprintf(w, "raw ceiling: %s rows upserted into a scratch copy of messages in %s = %s rows/s (%d rows per statement, one transaction per chunk, %s)\n",
		thousands(int64(r.CeilingRows)), seconds(r.Ceiling), thousands(int64(r.CeilingRate())), r.CeilingPerStatement, plural(r.CeilingConnections, "connection"))
	fmt.Fprintln(w)
	printIngestSummary(w, r)
	return r, nil
}

// serverCPU is the server's CPU time, or -1 when it cannot be measured.
func serverCPU(t Target) time.Duration {
	if t.CPUTime == nil {
		return -1
	}
	d, err := t.CPUTime()
	if err != nil {
		return -1
	}
	return d
}

// ingestRun polls and tidies the database side of one run: the inbox rows after baseline
// and the messages of the run's own number.
type ingestRun struct {
	db       *store.DB
	opts     IngestOptions
	pnid     string
	bodies   int
	messages int      // rows the run stores
	listed   int      // items its threads count: messages but reactions to stored messages
	shas     []string // SHA-256 of the run's bodies: its own inbox rows, whatever else shares the database
}

// inboxStates counts the run's inbox rows per state.
func (run *ingestRun) inboxStates(ctx context.Context) (map[string]int64, error) {
	return run.db.InboxStatesOfBodies(ctx, run.shas)
}

func (run *ingestRun) inboxRows(ctx context.Context) (int64, error) {
	states, err := run.inboxStates(ctx)
	var n int64
	for _, c := range states {
		n += c
	}
	return n, err
}

// counts returns the run's threads and messages as the threads count them.
func (run *ingestRun) counts(ctx context.Context) (threads, messages int64, err error) {
	return run.db.CountThreadsAndMessages(ctx, run.pnid)
}

// waitApplied polls until every inbox row of the run is done and the threads count every
// message, and returns when it saw that. A failed row, a count that does not add up once
// everything is done, or no progress for opts.Stall fails the run.
func (run *ingestRun) waitApplied(ctx context.Context) (time.Time, error) {
	lastDone, lastChange := int64(-1), time.Now()
	for {
		states, err := run.inboxStates(ctx)
		if err != nil {
			return time.Time{}, err
		}
		seen := time.Now()
		if states[models.InboxFailed] > 0 {
			text, _ := run.db.FirstInboxErrorOfBodies(ctx, run.shas)
			return time.Time{}, fmt.Errorf("%d inbox rows failed; the first: %s", states[models.InboxFailed], text)
		}
		done := states[models.InboxDone]
		if done == int64(run.bodies) && states[models.InboxPending]+states[models.InboxProcessing] == 0 {
			threads, messages, err := run.counts(ctx)
			if err != nil {
				return time.Time{}, err
			}
			if messages != int64(run.listed) {
				return time.Time{}, fmt.Errorf("every inbox row is done but the threads count %d messages (want %d: %d messages, %d of them reactions shown on their messages) in %d threads",
					messages, run.listed, run.messages, run.messages-run.listed, threads)
			}
			rows, err := run.db.CountMessageRows(ctx, run.pnid)
			if err != nil {
				return time.Time{}, err
			}
			if rows != int64(run.messages) {
				return time.Time{}, fmt.Errorf("every inbox row is done but messages holds %d rows (want %d)", rows, run.messages)
			}
			return seen, nil
		}
		if done != lastDone {
			lastDone, lastChange = done, seen
		} else if seen.Sub(lastChange) > run.opts.Stall {
			return time.Time{}, fmt.Errorf("no inbox row applied for %s (states %v)", run.opts.Stall, states)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(run.opts.PollInterval):
		}
	}
}

// requeueAll puts every inbox row of the run back to pending, as the reprocess button does.
func (run *ingestRun) requeueAll(ctx context.Context) error {
	ids, err := run.db.InboxIDsOfBodies(ctx, run.shas)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := run.db.RequeueInbox(ctx, id); err != nil {
			return fmt.Errorf("requeue inbox row %d: %w", id, err)
		}
	}
	return nil
}

// lastUpdate is the latest updated_at of the run's messages, as text.
func (run *ingestRun) lastUpdate(ctx context.Context) (string, error) {
	return run.db.LatestMessageUpdate(ctx, run.pnid)
}

// cleanup deletes what the run stored under its number and its inbox rows (the audit log
// keeps its entries).
func (run *ingestRun) cleanup(ctx context.Context) error {
	if _, err := run.db.PurgeNumber(ctx, run.pnid); err != nil {
		return err
	}
	_, err := run.db.DeleteInboxBodies(ctx, run.shas)
	return err
}

// printIngestSummary prints the figures next to the targets.
func printIngestSummary(w io.Writer, r IngestReport) {
	const format = "%-44s %-50s %-20s %s\n"
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Fprintf(w, format, "figure", "measured", "target", "")
	fmt.Fprintf(w, format, "end to end (first post → last row applied)",
		fmt.Sprintf("%s msgs/s (%s)", thousands(int64(r.FreshRate())), seconds(r.Fresh)),
		"≥ "+thousands(TargetMessagesPerSecond)+" msgs/s", verdict(r.FreshRate() >= TargetMessagesPerSecond))
	fmt.Fprintf(w, format, "raw ceiling (same rows, scratch table)",
		fmt.Sprintf("%s rows/s (%s)", thousands(int64(r.CeilingRate())), seconds(r.Ceiling)), "", "")
	fmt.Fprintf(w, format, "end to end / ceiling", fmt.Sprintf("%.2f", r.Ratio()),
		fmt.Sprintf("≥ %.2f", TargetCeilingRatio), verdict(r.Ratio() >= TargetCeilingRatio))
	fmt.Fprintf(w, format, fmt.Sprintf("webhook ack, all %d bodies", r.Acks.N),
		fmt.Sprintf("p50 %s, p95 %s, p99 %s", millis(r.Acks.P50), millis(r.Acks.P95), millis(r.Acks.P99)), "", "max "+millis(r.Acks.Max))
	large := r.LargeAcks
	if large.N == 0 {
		large = r.Acks
	}
	fmt.Fprintf(w, format, fmt.Sprintf("webhook ack, %s–%s bodies (%d)", mb(int64(large.MinSize)), mb(int64(large.MaxSize)), large.N),
		fmt.Sprintf("p50 %s, p95 %s, p99 %s", millis(large.P50), millis(large.P95), millis(large.P99)),
		fmt.Sprintf("p95 ≤ %d ms (3 MB)", TargetAckP95.Milliseconds()), verdict(large.P95 <= TargetAckP95))
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, format, "server peak RSS (VmHWM)", mb(r.PeakRSS), fmt.Sprintf("≤ %d MB", TargetPeakRSS>>20), verdict(r.PeakRSS <= TargetPeakRSS))
	} else {
		fmt.Fprintf(w, format, "server peak RSS (VmHWM)", "not measured (--url)", fmt.Sprintf("≤ %d MB", TargetPeakRSS>>20), "")
	}
	fmt.Fprintf(w, format, "replay: every body posted again",
		fmt.Sprintf("%+d inbox rows, %+d messages (%s)", r.RepostInboxAdded, r.RepostMessagesAdded, seconds(r.Repost)),
		"+0", verdict(r.RepostInboxAdded == 0 && r.RepostMessagesAdded == 0))
	fmt.Fprintf(w, format, "replay: every inbox row applied again",
		fmt.Sprintf("%+d messages, %s msgs/s = %.0f %% of fresh", r.ReapplyMessagesAdded, thousands(int64(r.ReapplyRate())), 100*r.ReplayShare()),
		fmt.Sprintf("+0 at ≥ %.0f %%", 100*TargetReplayShare),
		verdict(r.ReapplyMessagesAdded == 0 && !r.ReapplyChanged && r.ReplayShare() >= TargetReplayShare))
	fmt.Fprintf(w, "(targets: the issue's, for MariaDB on 2 cores and a 1M-message sync; %d bodies, %s, %d senders, %d ingest workers; ceiling: %d rows per statement on %s)\n",
		r.Bodies, mb(r.Bytes), r.Senders, r.Workers, r.CeilingPerStatement, plural(r.CeilingConnections, "connection"))
}

func describeAcks(a AckStats) string {
	return fmt.Sprintf("p50 %s, p95 %s, p99 %s, max %s over %d bodies of %s–%s (mean %s)",
		millis(a.P50), millis(a.P95), millis(a.P99), millis(a.Max), a.N, mb(int64(a.MinSize)), mb(int64(a.MaxSize)), mb(int64(a.MeanSize)))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func mb(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// clusterConflicts is the node's count of certification failures and brute-force aborts
// (a local transaction rolled back for a replicated one), or -1 when it is not a Galera node.
func clusterConflicts(ctx context.Context, db *store.DB) int64 {
	if n, ok := db.ClusterConflicts(ctx); ok {
		return n
	}
	return -1
}

func conflictsSince(ctx context.Context, db *store.DB, before int64) int64 {
	if before < 0 {
		return -1
	}
	now := clusterConflicts(ctx, db)
	if now < 0 {
		return -1
	}
	return now - before
}
