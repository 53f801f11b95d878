// Package bench measures; the data it measures on comes from internal/sim. Search times
// search and thread reads on a sim.Corpus put in the database by a bulk loader (multi-row
// INSERTs in transactions) that tests also use; Ingest posts a sim.HistoryStream to a
// server over HTTP. `coexhistory bench search|ingest` run them against the configured
// database.
package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"coexhistory/internal/search"
	"coexhistory/internal/sim"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// Options tune Search. The zero value is the benchmark.
type Options struct {
	Messages int   // messages to load; default 1,000,000 on MySQL/MariaDB, 200,000 on SQLite
	Threads  int   // threads; default Messages/50
	Numbers  int   // business numbers; default 2
	Runs     int   // timed runs per case; default 50
	Seed     int64 // generator seed; default 1
	Reload   bool  // delete and load the benchmark data even when its counts already match
}

func (o Options) withDefaults(dialect string) Options {
	if o.Messages <= 0 {
		o.Messages = 1_000_000
		if dialect == store.SQLite {
			o.Messages = 200_000
		}
	}
	if o.Threads <= 0 {
		o.Threads = max(1, o.Messages/50)
	}
	o.Threads = min(o.Threads, o.Messages)
	if o.Numbers <= 0 {
		o.Numbers = 2
	}
	o.Numbers = min(o.Numbers, o.Threads)
	if o.Runs <= 0 {
		o.Runs = 50
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Result is the measurement of one case.
type Result struct {
	Case     string
	Target   time.Duration // the p95 the issue asks for; 0 = none
	P50, P95 time.Duration
	Max      time.Duration
	Rows     int    // rows on the page the case reads
	Note     string // e.g. the order a relevance search was served in
}

// Met reports whether the case has no target or its p95 meets it.
func (r Result) Met() bool { return r.Target == 0 || r.P95 <= r.Target }

// Search loads the benchmark corpus into db (reusing it when it is already there), times each
// case opts.Runs times after a warm-up, and prints a table to w. The benchmark data lives
// under its own business numbers (bench-number-N) and stays in the database afterwards.
func Search(ctx context.Context, db *store.DB, opts Options, w io.Writer) error {
	opts = opts.withDefaults(db.Dialect())
	c := sim.Corpus{Messages: opts.Messages, Threads: opts.Threads, Numbers: opts.Numbers, Seed: opts.Seed}
	fmt.Fprintf(w, "coexhistory search benchmark: %s, %d messages in %d threads over %d numbers, %d runs per case\n",
		db.Dialect(), c.Messages, c.Threads, c.Numbers, opts.Runs)
	loaded, took, err := Ensure(ctx, db, c, opts.Reload)
	if err != nil {
		return err
	}
	if loaded {
		fmt.Fprintf(w, "loaded in %s (%.0f messages/s)\n", took.Round(time.Millisecond), float64(c.Messages)/took.Seconds())
	} else {
		fmt.Fprintln(w, "reusing the benchmark data already in the database (pass Reload to load it again)")
	}
	cases, err := searchCases(ctx, db, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, rowFormat, "case", "p50", "p95", "max", "rows", "target p95", "")
	for _, bc := range cases {
		r, err := measure(ctx, bc, opts.Runs)
		if err != nil {
			return fmt.Errorf("bench %s: %w", bc.name, err)
		}
		printResult(w, r)
	}
	return nil
}

// Ensure makes sure db holds corpus c: when the benchmark numbers already hold exactly its
// thread and message counts (and reload is false) nothing happens; otherwise their data is
// deleted and c is generated and loaded.
func Ensure(ctx context.Context, db *store.DB, c sim.Corpus, reload bool) (loaded bool, took time.Duration, err error) {
	if !reload {
		var threads, messages int64
		for _, pn := range c.NumberIDs() {
			t, m, err := db.CountThreadsAndMessages(ctx, pn)
			if err != nil {
				return false, 0, err
			}
			threads, messages = threads+t, messages+m
		}
		if threads == int64(c.Threads) && messages == int64(c.Messages) {
			return false, 0, nil
		}
	}
	start := time.Now()
	deleted, err := deleteCorpus(ctx, db, c)
	if err != nil {
		return false, 0, err
	}
	if err := Load(ctx, db, c); err != nil {
		return false, 0, err
	}
	if deleted > 0 && db.Dialect() == store.MySQL {
		// InnoDB keeps deleted rows in the FULLTEXT index (as a list every search filters out)
		// until the table is optimized; a reload deletes a million of them.
		if err := db.CompactMessages(ctx); err != nil {
			return false, 0, err
		}
	}
	return true, time.Since(start), nil
}

// Load generates corpus c and inserts it.
func Load(ctx context.Context, db *store.DB, c sim.Corpus) error {
	g := c.Generator()
	threads := g.Threads()
	if err := db.BulkInsertThreads(ctx, threads); err != nil {
		return err
	}
	const flushAt = store.BulkRowsPerTransaction
	batch := make([]models.Message, 0, flushAt+1000)
	serial := 0
	for i, t := range threads {
		batch = append(batch, g.Messages(t, i, &serial)...)
		if len(batch) >= flushAt || i == len(threads)-1 {
			if err := db.BulkInsertMessages(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return db.RefreshStatistics(ctx)
}

// deleteCorpus removes the benchmark numbers' data and returns how many messages it
// deleted.
func deleteCorpus(ctx context.Context, db *store.DB, c sim.Corpus) (int64, error) {
	var deleted int64
	for _, pn := range c.NumberIDs() {
		n, err := db.PurgeNumber(ctx, pn)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// benchCase is one timed read; run returns the number of rows it read and a note.
type benchCase struct {
	name   string
	target time.Duration
	run    func(ctx context.Context, i int) (int, string, error)
}

func searchCases(ctx context.Context, db *store.DB, c sim.Corpus) ([]benchCase, error) {
	s := search.New(db.SQL(), db.Dialect())
	number := sim.NumberID(0)
	recent, err := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: number, Limit: 25})
	if err != nil {
		return nil, err
	}
	if len(recent.Threads) == 0 {
		return nil, fmt.Errorf("no benchmark threads under %s", number)
	}
	// The newest message sets the "last 90 days" window.
	newest, err := db.NewestActivity(ctx, number)
	if err != nil {
		return nil, err
	}
	since := time.Unix(newest-90*24*3600, 0)
	// The targets: MariaDB for all, SQLite (200k messages) for the selective term.
	term, selective, read := 500*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond
	if db.Dialect() == store.SQLite {
		term, read = 0, 0
	}
	searchCase := func(name string, target time.Duration, p search.Params) benchCase {
		return benchCase{name: name, target: target, run: func(ctx context.Context, _ int) (int, string, error) {
			page, err := s.Search(ctx, p)
			note := ""
			if p.Sort == search.SortRelevance && page.Sort != search.SortRelevance {
				note = "served newest first (too common to rank)"
			}
			return len(page.Results), note, err
		}}
	}
	return []benchCase{
		searchCase("search: selective term ("+sim.SelectiveTerm+")", selective, search.Params{Q: sim.SelectiveTerm}),
		searchCase("search: common term ("+sim.CommonTerm+")", term, search.Params{Q: sim.CommonTerm}),
		searchCase("search: selective term by relevance", selective, search.Params{Q: sim.SelectiveTerm, Sort: search.SortRelevance}),
		searchCase("search: common term by relevance", term, search.Params{Q: sim.CommonTerm, Sort: search.SortRelevance}),
		searchCase(`search: phrase ("`+sim.PhraseTerm+`")`, term, search.Params{Q: `"` + sim.PhraseTerm + `"`}),
		searchCase("search: prefix (entreg*)", term, search.Params{Q: "entreg*"}),
		searchCase("search: term + filters (number, inbound, 90 days)", term,
			search.Params{Q: sim.CommonTerm, PhoneNumberID: number, Direction: models.DirectionInbound, From: since}),
		searchCase("search: filter-only (number, outbound, failed)", 0,
			search.Params{PhoneNumberID: number, Direction: models.DirectionOutbound, Status: "failed"}),
		searchCase("search: filter-only (number, last 90 days)", 0,
			search.Params{PhoneNumberID: number, From: since}),
		{name: "thread list page (number, 25)", target: read, run: func(ctx context.Context, _ int) (int, string, error) {
			page, err := db.ListThreads(ctx, store.ThreadFilter{PhoneNumberID: number, Limit: 25})
			return len(page.Threads), "", err
		}},
		{name: "thread page (latest 50)", target: read, run: func(ctx context.Context, i int) (int, string, error) {
			t := recent.Threads[i%len(recent.Threads)]
			list, err := db.ThreadMessages(ctx, t.ID, store.MessagePage{Latest: true, Limit: 50})
			return len(list.Messages), "", err
		}},
	}, nil
}

// measure runs a case twice to warm up, then runs times, and summarises the durations.
func measure(ctx context.Context, bc benchCase, runs int) (Result, error) {
	r := Result{Case: bc.name, Target: bc.target}
	for i := range 2 {
		if _, _, err := bc.run(ctx, i); err != nil {
			return r, err
		}
	}
	durations := make([]time.Duration, runs)
	for i := range runs {
		start := time.Now()
		n, note, err := bc.run(ctx, i)
		durations[i] = time.Since(start)
		if err != nil {
			return r, err
		}
		r.Rows, r.Note = n, note
	}
	slices.Sort(durations)
	r.P50, r.P95, r.Max = percentile(durations, 50), percentile(durations, 95), durations[len(durations)-1]
	return r, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// rowFormat lays out the result table; rows print as soon as they are measured.
const rowFormat = "%-52s %10s %10s %10s %5s  %-20s %s\n"

func printResult(w io.Writer, r Result) {
	target := "-"
	if r.Target > 0 {
		target = "≤ " + ms(r.Target)
		if !r.Met() {
			target += " MISSED"
		}
	}
	fmt.Fprintf(w, rowFormat, r.Case, ms(r.P50), ms(r.P95), ms(r.Max), fmt.Sprint(r.Rows), target, r.Note)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
