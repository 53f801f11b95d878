package search

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"coexhistory/internal/apperr"
)

// Page sizes.
const (
	DefaultLimit = 25
	MaxLimit     = 100
)

// TypeHasMedia as Params.Type selects the messages that carry media of any kind (images,
// voice notes, videos, documents, stickers and history media placeholders).
const TypeHasMedia = "media"

// Sort orders.
const (
	SortNewest    = "newest"    // timestamp descending (the default)
	SortRelevance = "relevance" // full-text score descending (see Page.Sort)
)

// Params select messages. Every field is optional; the zero value lists all messages, newest
// first. Text filters are exact matches of the stored values.
type Params struct {
	Q             string    // the search box (see Parse)
	PhoneNumberID string    // business number
	Contact       string    // phone digits (start of contact_wa_id) or part of the contact name
	From, To      time.Time // message time range, both inclusive; zero = open
	Direction     string    // inbound | outbound
	Type          string    // text, image, … (message type), or TypeHasMedia
	Status        string    // sent, delivered, read, failed, …
	Origin        string    // history | echo | live
	Sort          string    // SortNewest (default) | SortRelevance
	Cursor        string    // Page.NextCursor of the previous page (same Q, filters and Sort)
	Limit         int       // default DefaultLimit, at most MaxLimit
}

// Result is one matching message.
type Result struct {
	WAMID         string
	ThreadID      uint64
	PhoneNumberID string
	ContactWAID   string
	ContactName   string
	Timestamp     int64 // unix seconds
	Text          string
	Snippet       []Segment
	Direction     string
	Type          string
	Status        string
	Origin        string
	Score         float64 // full-text score when sorted by relevance (higher is better); 0 otherwise
}

// Page is one page of results.
type Page struct {
	Results    []Result
	NextCursor string // "" on the last page
	// Sort is the order of the results. A relevance search comes newest first when there is
	// no text query, and on MariaDB when its words are too common to rank quickly (an
	// estimated 50,000 matches or more); views should say so.
	Sort string
	// Query is what the search box was read as (for "searching for …" and empty states).
	Query Query
	// Unindexed lists words the full-text index cannot look up (MariaDB: shorter than
	// innodb_ft_min_token_size, or stopwords). They still apply, checked on each candidate's
	// text; when only such words are positive, the search walks messages newest first, at most
	// a bounded number per page, so a page can hold fewer than Limit results and still have a
	// NextCursor.
	Unindexed []string
}

// Searcher finds messages.
type Searcher interface {
	Search(ctx context.Context, p Params) (Page, error)
}

// Dialects New knows: the values of store.DB.Dialect().
const (
	mysqlDialect  = "mysql"
	sqliteDialect = "sqlite"
)

// ErrBadCursor is in the chain of an error about a cursor that does not fit the search.
var ErrBadCursor = errors.New("bad cursor")

// New returns the Searcher of a database: db is its connection pool, dialect "mysql"
// (MariaDB/MySQL FULLTEXT) or "sqlite" (FTS5).
func New(db *sql.DB, dialect string) Searcher {
	e := &engine{db: db, dialect: dialect, maxScan: defaultMaxScan, batch: defaultBatch}
	if dialect == mysqlDialect {
		e.rules = &mysqlRules{db: db}
		e.window, e.windows, e.contactScan, e.rankLimit = defaultWindow, defaultWindows, defaultContactScan, defaultRankLimit
	}
	return e
}

// ParseTime reads a time filter: unix seconds, RFC 3339, or a date (YYYY-MM-DD, UTC). With
// endOfDay a date means its last second (for an inclusive "to" date). "" is the zero time.
func ParseTime(s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t, nil
	}
	return time.Time{}, apperr.Wrap(apperr.Invalid, "Dates look like 2025-01-31.", fmt.Errorf("parse time %q", s))
}

// errBadCursor classifies a cursor that does not fit the search.
func errBadCursor(err error) error {
	return apperr.Wrap(apperr.Invalid, "This results page is no longer valid; please search again.", err)
}

// cursor is a position in a result list: (ts, id) when newest first, (score, id) when by
// relevance, with maxID bounding the relevance walk to the messages that existed when it began.
type cursor struct {
	relevance bool
	ts        int64
	score     float64
	id        uint64
	maxID     uint64
}

func (c cursor) encode() string {
	var s string
	if c.relevance {
		s = "r|" + strconv.FormatFloat(c.score, 'g', -1, 64) + "|" + strconv.FormatUint(c.id, 10) + "|" + strconv.FormatUint(c.maxID, 10)
	} else {
		s = "n|" + strconv.FormatInt(c.ts, 10) + "|" + strconv.FormatUint(c.id, 10)
	}
	return encodeBase64(s)
}

func decodeSearchCursor(raw string) (cursor, error) {
	s, err := decodeBase64(raw)
	if err != nil {
		return cursor{}, err
	}
	parts := strings.Split(s, "|")
	bad := errors.New("malformed search cursor")
	switch {
	case len(parts) == 3 && parts[0] == "n":
		ts, err1 := strconv.ParseInt(parts[1], 10, 64)
		id, err2 := strconv.ParseUint(parts[2], 10, 64)
		if err1 != nil || err2 != nil {
			return cursor{}, bad
		}
		return cursor{ts: ts, id: id}, nil
	case len(parts) == 4 && parts[0] == "r":
		score, err1 := strconv.ParseFloat(parts[1], 64)
		id, err2 := strconv.ParseUint(parts[2], 10, 64)
		maxID, err3 := strconv.ParseUint(parts[3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return cursor{}, bad
		}
		return cursor{relevance: true, score: score, id: id, maxID: maxID}, nil
	}
	return cursor{}, bad
}
