// Package metrics exposes coexhistory's Prometheus metrics: webhooks received, the inbox
// and its backlog, ingest, sync runs, provider calls, HTTP latency by route, the database
// pool and the Go runtime. Everything is registered on one explicit registry (no package
// globals, no default registry); /metrics serves it (see docs/metrics.md).
package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "coexhistory"

// Snapshot is what the database says at scrape time.
type Snapshot struct {
	InboxRows     map[string]int // inbox rows by state
	OldestPending time.Duration  // age of the oldest pending or processing row; 0 for none
	SyncRuns      map[string]int // sync runs by state
	SyncStalled   time.Duration  // longest time a requested or receiving sync has gone without a chunk
	MediaJobs     map[string]int // media jobs by state (states without jobs are absent)
}

// Source reads a Snapshot; *store.DB implements it through StoreSource.
type Source func(ctx context.Context) (Snapshot, error)

// Metrics holds every metric of one app instance.
type Metrics struct {
	Registry *prometheus.Registry

	webhooks       *prometheus.CounterVec
	webhookSeconds *prometheus.HistogramVec
	webhookBytes   *prometheus.HistogramVec
	rows           *prometheus.CounterVec
	rowSeconds     *prometheus.HistogramVec
	messages       prometheus.Counter
	chunkSeconds   prometheus.Histogram
	purged         prometheus.Counter
	providerCalls  *prometheus.CounterVec
	providerSecs   *prometheus.HistogramVec
	retries        *prometheus.CounterVec
	httpSeconds    *prometheus.HistogramVec
	scrapeErrors   prometheus.Counter
	dbConflicts    prometheus.Counter
}

// New returns the metrics on a fresh registry, with the Go runtime, the process, the
// database pool of db and, at each scrape, what src reads from the database.
func New(db *sql.DB, src Source) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "webhooks_received_total",
		Help: "Webhook deliveries by route (meta, positus), field and outcome (stored, duplicate, bad_signature, bad_secret, too_large, too_slow, busy, bad_body, not_stored).",
	}, []string{"source", "field", "outcome"})
	m.webhookSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "webhook_answer_seconds", Help: "Time to answer a webhook delivery, by route and outcome.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"source", "outcome"})
	m.webhookBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "webhook_body_bytes", Help: "Size of webhook bodies read whole, by route.",
		Buckets: prometheus.ExponentialBuckets(1024, 4, 8), // 1 KiB … 16 MiB
	}, []string{"source"})
	m.rows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "inbox_rows_processed_total",
		Help: "Inbox rows ingest finished with, by field and outcome (done, failed, retried, unknown_number, refused).",
	}, []string{"field", "outcome"})
	m.rowSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "inbox_row_apply_seconds", Help: "Time to parse and apply one inbox row, by outcome.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"outcome"})
	m.messages = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "messages_applied_total", Help: "Messages inserted or changed by ingest.",
	})
	m.chunkSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "history_chunk_apply_seconds", Help: "Time to apply one history chunk (its transaction).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.purged = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "inbox_bodies_purged_total", Help: "Bodies of applied webhooks removed by retention.",
	})
	m.providerCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "provider_requests_total",
		Help: "HTTP requests to providers (each attempt), by provider and outcome (2xx, 4xx, 429, 5xx, error).",
	}, []string{"provider", "outcome"})
	m.providerSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "provider_request_seconds", Help: "Duration of one request to a provider.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
	}, []string{"provider"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "provider_retries_total", Help: "Provider calls repeated after a transient failure, by provider.",
	}, []string{"provider"})
	m.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_seconds", Help: "HTTP requests served, by method, route pattern and status class.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "code"})
	m.scrapeErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "metrics_database_errors_total", Help: "Scrapes whose database figures could not be read.",
	})
	m.dbConflicts = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "database_conflicts_total",
		Help: "Deadlocks and Galera certification conflicts (error 1213) the store retried.",
	})
	r.MustRegister(m.webhooks, m.webhookSeconds, m.webhookBytes, m.rows, m.rowSeconds, m.messages, m.chunkSeconds, m.purged,
		m.providerCalls, m.providerSecs, m.retries, m.httpSeconds, m.scrapeErrors, m.dbConflicts,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if db != nil {
		r.MustRegister(collectors.NewDBStatsCollector(db, "coexhistory"))
	}
	if src != nil {
		r.MustRegister(&dbCollector{src: src, errors: m.scrapeErrors})
	}
	return m
}

// DatabaseConflict counts one deadlock or certification conflict the store retried
// (store.DB.OnConflict).
func (m *Metrics) DatabaseConflict() { m.dbConflicts.Inc() }

// Webhook records one webhook delivery (handlers.Deps.ObserveWebhook).
func (m *Metrics) Webhook(source, field, outcome string, size int, took time.Duration) {
	if field == "" {
		field = "unknown"
	}
	m.webhooks.WithLabelValues(source, field, outcome).Inc()
	m.webhookSeconds.WithLabelValues(source, outcome).Observe(took.Seconds())
	if size > 0 {
		m.webhookBytes.WithLabelValues(source).Observe(float64(size))
	}
}

// Row records an inbox row ingest finished with; fields is a comma-separated list.
func (m *Metrics) Row(fields, outcome string, messages int64, took time.Duration) {
	if fields == "" {
		fields = "none"
	}
	for f := range strings.SplitSeq(fields, ",") {
		m.rows.WithLabelValues(f, outcome).Inc()
	}
	m.rowSeconds.WithLabelValues(outcome).Observe(took.Seconds())
	if messages > 0 {
		m.messages.Add(float64(messages))
	}
}

// Chunk records one applied history chunk.
func (m *Metrics) Chunk(took time.Duration) { m.chunkSeconds.Observe(took.Seconds()) }

// Purged records bodies removed by retention.
func (m *Metrics) Purged(n int64) { m.purged.Add(float64(n)) }

// Retry counts a provider call repeated after a transient failure.
func (m *Metrics) Retry(provider string) { m.retries.WithLabelValues(provider).Inc() }

// Transport wraps next (nil: http.DefaultTransport) to count and time every request to
// provider.
func (m *Metrics) Transport(provider string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		res, err := next.RoundTrip(req)
		m.providerSecs.WithLabelValues(provider).Observe(time.Since(start).Seconds())
		outcome := "error"
		if err == nil {
			switch {
			case res.StatusCode == http.StatusTooManyRequests:
				outcome = "429"
			default:
				outcome = strconv.Itoa(res.StatusCode/100) + "xx"
			}
		}
		m.providerCalls.WithLabelValues(provider, outcome).Inc()
		return res, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// HTTPRequest records one request served, by its route pattern (never the raw path: ids
// and secrets stay out of the labels) and status class.
func (m *Metrics) HTTPRequest(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpSeconds.WithLabelValues(method, route, strconv.Itoa(status/100)+"xx").Observe(took.Seconds())
}

// Handler serves the registry in the Prometheus text format. With a non-empty token it
// answers 401 unless the request carries "Authorization: Bearer <token>".
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry, Timeout: 10 * time.Second})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(want[:], sum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need a bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// dbCollector reads the database figures at each scrape.
type dbCollector struct {
	src    Source
	errors prometheus.Counter
}

var (
	descInboxRows = prometheus.NewDesc(namespace+"_inbox_rows", "Inbox rows by state (pending and processing are the backlog; failed, unknown_number and refused wait for staff).", []string{"state"}, nil)
	descOldest    = prometheus.NewDesc(namespace+"_inbox_oldest_pending_seconds", "Age of the oldest inbox row not yet applied (pending or processing); 0 when none.", nil, nil)
	descSyncRuns  = prometheus.NewDesc(namespace+"_sync_runs", "History sync runs by state.", []string{"state"}, nil)
	descStalled   = prometheus.NewDesc(namespace+"_sync_stalled_seconds", "Longest time a requested or receiving history sync has gone without a chunk; 0 when none is under way.", nil, nil)
	descMedia     = prometheus.NewDesc(namespace+"_media_jobs", "Media download jobs by state.", []string{"state"}, nil)
)

// inboxStates are reported even when empty, so that alerts see a 0 rather than nothing.
var inboxStates = []string{"pending", "processing", "done", "failed", "unknown_number", "refused"}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInboxRows, descOldest, descSyncRuns, descStalled, descMedia} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.src(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	for _, st := range inboxStates {
		ch <- prometheus.MustNewConstMetric(descInboxRows, prometheus.GaugeValue, float64(s.InboxRows[st]), st)
	}
	for st, n := range s.InboxRows {
		if !contains(inboxStates, st) {
			ch <- prometheus.MustNewConstMetric(descInboxRows, prometheus.GaugeValue, float64(n), st)
		}
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, s.OldestPending.Seconds())
	for st, n := range s.SyncRuns {
		ch <- prometheus.MustNewConstMetric(descSyncRuns, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descStalled, prometheus.GaugeValue, s.SyncStalled.Seconds())
	for st, n := range s.MediaJobs {
		ch <- prometheus.MustNewConstMetric(descMedia, prometheus.GaugeValue, float64(n), st)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
