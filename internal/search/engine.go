package search

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Bounds of the Go-side text check (see Page.Unindexed) and of scanRecent (MySQL).
const (
	defaultMaxScan     = 2000  // candidate rows read per page at most through scanIndex
	defaultBatch       = 200   // candidate rows read per query when terms are checked in Go
	defaultWindow      = 1000  // newest messages read per window
	defaultWindows     = 5     // windows checked before the FULLTEXT index takes over
	defaultContactScan = 10000 // a contact's messages checked in Go rather than through the index
	defaultRankLimit   = 50000 // estimated matches beyond which relevance falls back to newest
)

// engine runs searches with plain SQL over database/sql; dialect picks the full-text syntax.
type engine struct {
	db          *sql.DB
	dialect     string
	rules       *mysqlRules // MySQL only
	maxScan     int
	batch       int
	window      int // MySQL newest-first searches (see scanRecent); 0 = off
	windows     int
	contactScan int
	rankLimit   int // MySQL: see tooCommonToRank; 0 = always rank
}

// textPlan is how a text query runs: match is the MATCH argument ("" when the index cannot
// narrow the search down), check the terms tested in Go on each candidate.
type textPlan struct {
	match     string
	check     textFilter
	unindexed []string
}

// row is one candidate message.
type row struct {
	id            uint64
	wamid         string
	threadID      uint64
	phoneNumberID string
	contactWAID   string
	ts            int64
	text          string
	direction     string
	typ           string
	status        string
	origin        string
	score         float64
}

const rowColumns = "m.id, m.wamid, m.thread_id, m.phone_number_id, m.contact_wa_id, m.ts, m.text, m.direction, m.type, m.status, m.origin"

// Search runs one page of a search.
func (e *engine) Search(ctx context.Context, p Params) (Page, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q := Parse(p.Q)
	page := Page{Query: q, Results: []Result{}}
	textual := strings.TrimSpace(p.Q) != ""
	if textual && !q.HasPositive() {
		// Nothing to look for (only exclusions, or no word at all): no results rather than
		// every message.
		return page, nil
	}
	var plan textPlan
	if textual {
		var err error
		if plan, err = e.plan(ctx, q); err != nil {
			return page, err
		}
		page.Unindexed = plan.unindexed
	}
	relevance := p.Sort == SortRelevance && plan.match != ""
	var after *cursor
	if p.Cursor != "" {
		c, err := decodeSearchCursor(p.Cursor)
		if err != nil || (c.relevance && !relevance) {
			return page, errBadCursor(fmt.Errorf("search cursor: %w", errors.Join(ErrBadCursor, err)))
		}
		after = &c
		// A newest-first cursor on a relevance search continues a search that fell back.
		relevance = c.relevance
	} else if relevance && e.rankLimit > 0 {
		common, err := e.tooCommonToRank(ctx, p, q)
		if err != nil {
			return page, err
		}
		relevance = !common
	}
	page.Sort = SortNewest
	if relevance {
		page.Sort = SortRelevance
	}
	var maxID uint64
	if relevance {
		if after != nil {
			maxID = after.maxID
		} else if err := e.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM messages").Scan(&maxID); err != nil {
			return page, fmt.Errorf("search: newest message id: %w", err)
		}
	}
	c := &collector{limit: limit, keyOf: func(r row) cursor {
		return cursor{relevance: relevance, ts: r.ts, score: r.score, id: r.id, maxID: maxID}
	}}
	exhausted := false
	if e.window > 0 && !relevance && plan.match != "" {
		var err error
		if after, exhausted, err = e.scanRecent(ctx, p, q, c, after); err != nil {
			return page, err
		}
	}
	if !c.full() && !exhausted {
		var err error
		if exhausted, err = e.scanIndex(ctx, p, plan, relevance, maxID, c, after); err != nil {
			return page, err
		}
	}
	accepted := c.accepted
	switch {
	case c.full():
		accepted = accepted[:limit]
		page.NextCursor = c.keyOf(accepted[limit-1]).encode()
	case !exhausted && c.last != nil:
		page.NextCursor = c.last.encode()
	}
	names, err := e.contactNames(ctx, accepted)
	if err != nil {
		return page, err
	}
	for _, r := range accepted {
		res := Result{
			WAMID: r.wamid, ThreadID: r.threadID, PhoneNumberID: r.phoneNumberID, ContactWAID: r.contactWAID,
			ContactName: names[r.threadID], Timestamp: r.ts, Text: r.text, Snippet: Snippet(r.text, q, SnippetWidth),
			Direction: r.direction, Type: r.typ, Status: r.status, Origin: r.origin,
		}
		if relevance {
			res.Score = r.score
		}
		page.Results = append(page.Results, res)
	}
	return page, nil
}

// collector gathers a page: the candidates that pass the text checks, in result order, up to
// one more than the page holds (which proves a next page), and the key of the last candidate
// examined (where the next page starts when the scan stopped early).
type collector struct {
	limit    int
	keyOf    func(row) cursor
	accepted []row
	last     *cursor
}

func (c *collector) full() bool { return len(c.accepted) > c.limit }

// take examines rows in order and reports whether the page is full.
func (c *collector) take(rows []row, check textFilter) bool {
	for _, r := range rows {
		k := c.keyOf(r)
		c.last = &k
		if check.keep(r.text) {
			c.accepted = append(c.accepted, r)
			if c.full() {
				return true
			}
		}
	}
	return false
}

// scanRecent serves MySQL newest-first searches from plain reads checked in Go, because
// ordering every FULLTEXT match by time costs InnoDB a row lookup per match (about 0.5 s for a
// word in a fifth of 1M messages, whatever the other filters):
//
//   - with a contact filter whose threads hold at most contactScan messages, it checks all
//     of them (newest first, window at a time) and the index is not needed;
//   - otherwise it checks windows of the window newest messages (of the number, within
//     From/To) after the cursor, as long as the rate of matches seen lets at most windows
//     windows fill the page. Common words fill the page from there; for rarer ones the index
//     takes over below the last window read.
//
// It returns the cursor below which the index continues, and whether no candidate is left.
func (e *engine) scanRecent(ctx context.Context, p Params, q Query, c *collector, after *cursor) (*cursor, bool, error) {
	check := newTextFilter(q.Terms)
	if n, ok, err := e.contactMessageCount(ctx, p); err != nil {
		return nil, false, err
	} else if ok && n <= e.contactScan {
		for {
			rows, err := e.fetch(ctx, p, "", false, after, 0, e.window)
			if err != nil {
				return nil, false, err
			}
			if c.take(rows, check) {
				return nil, false, nil
			}
			if len(rows) < e.window {
				return nil, true, nil
			}
			after = c.last
		}
	}
	found := 0
	for i := 1; i <= e.windows; i++ {
		before := len(c.accepted)
		rows, boundary, err := e.recentWindow(ctx, p, after, e.window)
		if err != nil {
			return nil, false, err
		}
		if c.take(rows, check) {
			return nil, false, nil
		}
		if boundary == nil {
			return nil, true, nil
		}
		after, c.last = boundary, boundary
		// Read more windows only while, at the rate seen so far, the windows left can fill
		// the page; rare words go to the index after the first window.
		found += len(c.accepted) - before
		need := c.limit + 1 - len(c.accepted)
		if found == 0 || need*i > found*(e.windows-i) {
			break
		}
	}
	return after, false, nil
}

// scanIndex reads candidates through the full-text index (or the filters alone when the
// index cannot anchor the query), batch by batch, and checks the terms the index cannot
// decide. It reads at most maxScan candidates per page and reports whether none is left.
func (e *engine) scanIndex(ctx context.Context, p Params, plan textPlan, relevance bool, maxID uint64, c *collector, after *cursor) (bool, error) {
	batch := c.limit + 1
	if !plan.check.empty() {
		batch = max(batch, e.batch)
	}
	scanned := 0
	for {
		rows, err := e.fetch(ctx, p, plan.match, relevance, after, maxID, batch)
		if err != nil {
			return false, err
		}
		scanned += len(rows)
		if c.take(rows, plan.check) {
			return false, nil
		}
		if len(rows) < batch {
			return true, nil
		}
		if scanned >= e.maxScan {
			return false, nil
		}
		after = c.last
	}
}

// tooCommonToRank estimates whether a relevance search would have more than rankLimit
// matches: InnoDB reads every matching row to rank them (about 1 s for 180k matches), so such
// searches are served newest first instead (Page.Sort tells). The estimate is the rate of
// matches among the newest window messages in scope times the messages of the number (or of
// all numbers), from threads.message_count.
func (e *engine) tooCommonToRank(ctx context.Context, p Params, q Query) (bool, error) {
	rows, boundary, err := e.recentWindow(ctx, p, nil, e.window)
	if err != nil || boundary == nil {
		return false, err
	}
	check := newTextFilter(q.Terms)
	matches := 0
	for _, r := range rows {
		if check.keep(r.text) {
			matches++
		}
	}
	query := "SELECT COALESCE(SUM(message_count), 0) FROM threads"
	var args []any
	if p.PhoneNumberID != "" {
		query += " WHERE phone_number_id = ?"
		args = append(args, p.PhoneNumberID)
	}
	var total int64
	if err := e.db.QueryRowContext(ctx, query, args...).Scan(&total); err != nil {
		return false, fmt.Errorf("search: count messages: %w", err)
	}
	return int64(matches)*total/int64(e.window) > int64(e.rankLimit), nil
}

// contactMessageCount returns how many messages the threads of p's contact filter hold
// (threads.message_count), and false when p has no contact filter.
func (e *engine) contactMessageCount(ctx context.Context, p Params) (int, bool, error) {
	cm := ParseContact(p.Contact)
	if cm.Empty() || e.contactScan <= 0 {
		return 0, false, nil
	}
	cond, args := cm.Where(e.dialect, "t.")
	query := "SELECT COALESCE(SUM(t.message_count), 0) FROM threads t WHERE " + cond
	if p.PhoneNumberID != "" {
		query += " AND t.phone_number_id = ?"
		args = append(args, p.PhoneNumberID)
	}
	var n int
	if err := e.db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("search: count the contact's messages: %w", err)
	}
	return n, true, nil
}

// plan compiles q for the dialect.
func (e *engine) plan(ctx context.Context, q Query) (textPlan, error) {
	if e.dialect != mysqlDialect {
		return textPlan{match: FTS5(q)}, nil
	}
	rules, err := e.rules.get(ctx)
	if err != nil {
		return textPlan{}, err
	}
	bp := CompileBoolean(q, rules)
	return textPlan{match: bp.Against, check: newTextFilter(bp.Check), unindexed: bp.Unindexed}, nil
}

// fetch reads up to n candidates after the cursor, in result order.
func (e *engine) fetch(ctx context.Context, p Params, match string, relevance bool, after *cursor, maxID uint64, n int) ([]row, error) {
	var w where
	addFilters(&w, e.dialect, p)
	var query string
	switch {
	case match == "":
		if after != nil {
			w.add("(m.ts < ? OR (m.ts = ? AND m.id < ?))", after.ts, after.ts, after.id)
		}
		query = "SELECT " + rowColumns + ", 0 FROM messages m" + w.sql() + " ORDER BY m.ts DESC, m.id DESC LIMIT ?"
		w.args = append(w.args, n)
	case e.dialect == mysqlDialect && !relevance:
		if after != nil {
			w.add("(m.ts < ? OR (m.ts = ? AND m.id < ?))", after.ts, after.ts, after.id)
		}
		w.prepend("MATCH(m.text) AGAINST(? IN BOOLEAN MODE)", match)
		query = "SELECT " + rowColumns + ", 0 FROM messages m" + w.sql() + " ORDER BY m.ts DESC, m.id DESC LIMIT ?"
		w.args = append(w.args, n)
	case e.dialect == mysqlDialect:
		w.add("m.id <= ?", maxID)
		w.prepend("MATCH(m.text) AGAINST(? IN BOOLEAN MODE)", match)
		args := append([]any{match}, w.args...)
		query = "SELECT " + rowColumns + ", MATCH(m.text) AGAINST(? IN BOOLEAN MODE) AS score FROM messages m" + w.sql()
		if after != nil {
			query += " HAVING (score < ? OR (score = ? AND m.id < ?))"
			args = append(args, after.score, after.score, after.id)
		}
		query += " ORDER BY score DESC, m.id DESC LIMIT ?"
		w.args = append(args, n)
	case !relevance:
		if after != nil {
			w.add("(m.ts < ? OR (m.ts = ? AND m.id < ?))", after.ts, after.ts, after.id)
		}
		w.prepend("messages_fts MATCH ?", match)
		query = "SELECT " + rowColumns + ", 0 FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid" +
			w.sql() + " ORDER BY m.ts DESC, m.id DESC LIMIT ?"
		w.args = append(w.args, n)
	default:
		w.add("m.id <= ?", maxID)
		w.prepend("messages_fts MATCH ?", match)
		query = "SELECT * FROM (SELECT " + rowColumns + ", -bm25(messages_fts) AS score" +
			" FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid" + w.sql() + ") r"
		if after != nil {
			query += " WHERE (r.score < ? OR (r.score = ? AND r.id < ?))"
			w.args = append(w.args, after.score, after.score, after.id)
		}
		query += " ORDER BY r.score DESC, r.id DESC LIMIT ?"
		w.args = append(w.args, n)
	}
	return e.query(ctx, query, w.args)
}

// query runs a search query and reads its rows.
func (e *engine) query(ctx context.Context, query string, args []any) ([]row, error) {
	rows, err := e.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.wamid, &r.threadID, &r.phoneNumberID, &r.contactWAID, &r.ts, &r.text,
			&r.direction, &r.typ, &r.status, &r.origin, &r.score); err != nil {
			return nil, fmt.Errorf("search messages: read row: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	return out, nil
}

// recentWindow reads the messages matching p's filters among the newest size messages after
// the cursor (of p's number and within From/To: ix_messages_number_ts or ix_messages_ts covers
// that), newest first, and returns the key of the window's oldest message: the search
// continues below it. The boundary is nil when fewer than size messages remain, so the window
// saw them all.
func (e *engine) recentWindow(ctx context.Context, p Params, after *cursor, size int) ([]row, *cursor, error) {
	var bw where
	if p.PhoneNumberID != "" {
		bw.add("m.phone_number_id = ?", p.PhoneNumberID)
	}
	if !p.From.IsZero() {
		bw.add("m.ts >= ?", p.From.Unix())
	}
	if !p.To.IsZero() {
		bw.add("m.ts <= ?", p.To.Unix())
	}
	if after != nil {
		bw.add("(m.ts < ? OR (m.ts = ? AND m.id < ?))", after.ts, after.ts, after.id)
	}
	var b cursor
	var boundary *cursor
	err := e.db.QueryRowContext(ctx, "SELECT m.ts, m.id FROM messages m"+bw.sql()+" ORDER BY m.ts DESC, m.id DESC LIMIT 1 OFFSET ?",
		append(bw.args, size-1)...).Scan(&b.ts, &b.id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, nil, fmt.Errorf("search: recent window: %w", err)
	default:
		boundary = &b
	}
	var w where
	addFilters(&w, e.dialect, p)
	if after != nil {
		w.add("(m.ts < ? OR (m.ts = ? AND m.id < ?))", after.ts, after.ts, after.id)
	}
	if boundary != nil {
		w.add("(m.ts > ? OR (m.ts = ? AND m.id >= ?))", b.ts, b.ts, b.id)
	}
	rows, err := e.query(ctx, "SELECT "+rowColumns+", 0 FROM messages m"+w.sql()+" ORDER BY m.ts DESC, m.id DESC", w.args)
	if err != nil {
		return nil, nil, err
	}
	return rows, boundary, nil
}

// addFilters adds p's filters on messages m.
func addFilters(w *where, dialect string, p Params) {
	if p.PhoneNumberID != "" {
		w.add("m.phone_number_id = ?", p.PhoneNumberID)
	}
	if c := ParseContact(p.Contact); !c.Empty() {
		cond, args := c.Where(dialect, "t.")
		sub := "m.thread_id IN (SELECT t.id FROM threads t WHERE " + cond
		if p.PhoneNumberID != "" {
			sub += " AND t.phone_number_id = ?"
			args = append(args, p.PhoneNumberID)
		}
		w.add(sub+")", args...)
	}
	if !p.From.IsZero() {
		w.add("m.ts >= ?", p.From.Unix())
	}
	if !p.To.IsZero() {
		w.add("m.ts <= ?", p.To.Unix())
	}
	typ := p.Type
	if typ == TypeHasMedia {
		typ = ""
		w.add("m.type IN ('image', 'video', 'audio', 'document', 'sticker', 'media_placeholder')")
	}
	for _, f := range []struct{ col, val string }{
		{"m.direction", p.Direction}, {"m.type", typ}, {"m.status", p.Status}, {"m.origin", p.Origin},
	} {
		if f.val != "" {
			w.add(f.col+" = ?", f.val)
		}
	}
}

// contactNames reads the contact names of the rows' threads.
func (e *engine) contactNames(ctx context.Context, rows []row) (map[uint64]string, error) {
	names := map[uint64]string{}
	if len(rows) == 0 {
		return names, nil
	}
	var ids []any
	seen := map[uint64]bool{}
	for _, r := range rows {
		if !seen[r.threadID] {
			seen[r.threadID] = true
			ids = append(ids, r.threadID)
		}
	}
	query := "SELECT id, contact_name FROM threads WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	rs, err := e.db.QueryContext(ctx, query, ids...)
	if err != nil {
		return nil, fmt.Errorf("search: contact names: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id uint64
		var name string
		if err := rs.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("search: contact names: %w", err)
		}
		names[id] = name
	}
	return names, rs.Err()
}

// where collects AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) prepend(cond string, args ...any) {
	w.conds = append([]string{cond}, w.conds...)
	w.args = append(append([]any{}, args...), w.args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// mysqlRules reads, once, what the server's FULLTEXT indexes hold.
type mysqlRules struct {
	db    *sql.DB
	mu    sync.Mutex
	rules *FulltextRules
}

func (m *mysqlRules) get(ctx context.Context) (FulltextRules, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rules != nil {
		return *m.rules, nil
	}
	var minToken, maxToken int
	var stopOn int
	var serverTable sql.NullString
	err := m.db.QueryRowContext(ctx, "SELECT @@innodb_ft_min_token_size, @@innodb_ft_max_token_size, @@innodb_ft_enable_stopword, @@innodb_ft_server_stopword_table").
		Scan(&minToken, &maxToken, &stopOn, &serverTable)
	if err != nil {
		return FulltextRules{}, fmt.Errorf("search: read full-text settings: %w", err)
	}
	var stopwords []string
	if stopOn != 0 {
		stopwords = m.stopwords(ctx, serverTable.String)
	}
	r := NewFulltextRules(minToken, maxToken, stopwords)
	m.rules = &r
	return r, nil
}

// stopwords reads the server's stopword list, or InnoDB's default list when it cannot.
func (m *mysqlRules) stopwords(ctx context.Context, serverTable string) []string {
	query := "SELECT value FROM INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD"
	if db, table, ok := strings.Cut(serverTable, "/"); ok {
		query = "SELECT value FROM `" + strings.ReplaceAll(db, "`", "``") + "`.`" + strings.ReplaceAll(table, "`", "``") + "`"
	}
	rows, err := m.db.QueryContext(ctx, query)
	if err != nil {
		return InnoDBDefaultStopwords()
	}
	defer rows.Close()
	var words []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return InnoDBDefaultStopwords()
		}
		words = append(words, w)
	}
	if rows.Err() != nil {
		return InnoDBDefaultStopwords()
	}
	return words
}

func encodeBase64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeBase64(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("decode cursor: %w", err)
	}
	return string(b), nil
}
