package store

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	gomysql "github.com/go-sql-driver/mysql"
)

// Quarantine of single messages: a message the database refuses (a value no column can
// hold) never sinks the other messages of its chunk or body. The refusal is permanent, so
// it is not retried; the message is reported back (Rejected) and the rest is stored.

// Rejected is a message the database refused, and why.
type Rejected struct {
	WAMID   string
	Contact string
	Err     string
}

// IsPermanent reports whether err is the database refusing the data itself (MySQL/MariaDB
// 1366 incorrect string value, 1406 data too long, 1264 out of range, 1265 truncated, 1292
// incorrect value, 1048 null, 1367 illegal value, 4025 check constraint; SQLite constraint
// and type errors): the same data gives the same error, so retrying cannot help.
func IsPermanent(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1366, 1406, 1264, 1265, 1292, 1048, 1367, 3140, 4025:
			return true
		}
		return false
	}
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "CHECK constraint failed") || strings.Contains(s, "NOT NULL constraint failed") ||
		strings.Contains(s, "datatype mismatch")
}

// isolate applies rows with apply; when the database refuses them permanently it splits
// them in halves until the refused rows are alone, applying every other part (each part
// in its own transaction, so it stays stored), and returns the refused ones. Other errors
// end it and are returned.
func isolate(ctx context.Context, rows []msgRow, apply func(rows []msgRow) (ApplyResult, error)) (ApplyResult, []Rejected, error) {
	res, err := apply(rows)
	switch {
	case err == nil:
		return res, nil, nil
	case !IsPermanent(err):
		return ApplyResult{}, nil, err
	case len(rows) == 1:
		return ApplyResult{}, []Rejected{{WAMID: rows[0].WAMID, Contact: rows[0].ContactWAID, Err: err.Error()}}, nil
	}
	if ctx.Err() != nil {
		return ApplyResult{}, nil, ctx.Err()
	}
	half := len(rows) / 2
	a, rejA, err := isolate(ctx, rows[:half], apply)
	if err != nil {
		return ApplyResult{}, nil, err
	}
	b, rejB, err := isolate(ctx, rows[half:], apply)
	if err != nil {
		return ApplyResult{}, nil, err
	}
	return ApplyResult{Inserted: a.Inserted + b.Inserted, Updated: a.Updated + b.Updated, Skipped: a.Skipped + b.Skipped},
		append(rejA, rejB...), nil
}

// without returns rows minus the rejected ones.
func without(rows []msgRow, rejected []Rejected) []msgRow {
	if len(rejected) == 0 {
		return rows
	}
	bad := make(map[string]bool, len(rejected))
	for _, r := range rejected {
		bad[r.WAMID] = true
	}
	kept := make([]msgRow, 0, len(rows))
	for _, r := range rows {
		if !bad[r.WAMID] {
			kept = append(kept, r)
		}
	}
	return kept
}

// validText returns s as valid UTF-8 (invalid bytes replaced by U+FFFD): MariaDB refuses
// invalid UTF-8 in a utf8mb4 column (1366), and the parser already cleans what it reads.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// clipMarked cuts s to at most n bytes at a UTF-8 boundary, ending it with "…" when it
// was cut, so that a clipped value is seen to be clipped. The raw JSON keeps it whole.
func clipMarked(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	if n <= len(mark) {
		return clip(s, n)
	}
	return clip(s, n-len(mark)) + mark
}
