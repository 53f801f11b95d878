// Package search finds messages by their text and by filters: MariaDB/MySQL FULLTEXT (InnoDB,
// boolean mode) or SQLite FTS5, behind one Searcher (New picks the backend from the store's
// dialect). Message text is never searched with LIKE.
//
// # What users type
//
// Parse reads the search box and never fails: words, "exact phrases", -excluded words or
// -"phrases", and prefix* (see Parse). Everything else separates words, so no operator of
// either full-text grammar and nothing of SQL reaches the database: the compiled expressions
// hold only quoted words (FTS5) or +word, -word, word* (InnoDB), always as bound parameters.
// Matching ignores case and accents on both backends ("nao" finds "Não").
//
// Choices:
//   - A query of only exclusions (-boleto), or one without any word (*, emoji, punctuation),
//     returns nothing, not every message. An empty query lists messages by the filters alone,
//     newest first.
//   - MariaDB does not index words shorter than innodb_ft_min_token_size (3 by default; 2 on
//     the test server), longer than innodb_ft_max_token_size, or stopwords (InnoDB's default
//     list holds "de", "la", "a", "com", …). Such words never go into the boolean expression
//     (where "+de" would make the whole search match nothing); they are checked in Go on the
//     candidates the other words or the filters select. A search made only of such words walks
//     the messages newest first and checks them, at most a bounded number per page, so a page
//     can hold fewer results than asked and still have a next cursor. Page.Unindexed names
//     those words.
//   - Phrases on MariaDB are looked up by their indexed words and checked exactly in Go:
//     InnoDB's own phrase search re-reads every candidate document and skips short words.
//
// # Order and pages
//
// Results come newest first (timestamp, then id, descending) or, with SortRelevance and a text
// query, by full-text score (InnoDB's MATCH, FTS5's bm25; higher is better), then id. Pages
// are keyset pages: the opaque cursor (base64url) holds (timestamp, id) or (score, id) of the
// last result, never an offset, so walking the pages never repeats or skips a message. A
// relevance walk also keeps the highest message id of its first page and ignores messages
// stored later; scores of older messages can still shift while new messages arrive (both
// engines weigh words by how rare they are), so a relevance walk during heavy ingest is
// approximate, while the newest-first walk stays exact.
//
// On MariaDB, ordering all FULLTEXT matches by time costs a row lookup per match, so
// newest-first searches first check recent messages (or a small contact's whole history) in Go
// and hand over to the index below them; see scanRecent. Ranking costs the same lookups, so a
// relevance search whose words are estimated to match more than 50,000 messages comes newest
// first instead, and Page.Sort says so; its cursors carry on newest first.
//
// # Where the backends differ
//
//   - MariaDB keeps the underscore inside words (foo_bar is one word); SQLite and the Go
//     checks split it. MariaDB compares words with utf8mb4_unicode_ci, which equates a few more
//     letters than the accent folding of SQLite and Go (ß and ss, for one).
//   - The contact filter's name part is accent-insensitive on MariaDB only; SQLite's LIKE
//     ignores the case of ASCII letters only.
//   - Scores differ in scale between the engines; only their order within one search matters.
//
// Results carry snippets as plain-text segments (Segment) with the matched words marked; views
// escape them like any other text.
package search
