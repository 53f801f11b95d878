package ingest

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
)

// A claim loop that fails on every poll logs once when the outage starts (with the code),
// once when the code changes and once when it works again.
func TestOutageLogsOncePerOutage(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var o outage
	notReady := &gomysql.MySQLError{Number: 1047, Message: "WSREP has not yet prepared node for application use"}
	o.report(log, "claim inbox rows", nil)
	for range 360 { // three minutes of 500 ms polls
		o.report(log, "claim inbox rows", errors.Join(errors.New("claim inbox"), notReady))
	}
	for range 5 {
		o.report(log, "claim inbox rows", &gomysql.MySQLError{Number: 1180, Message: "Got error 6 during COMMIT"})
	}
	o.report(log, "claim inbox rows", nil)
	o.report(log, "claim inbox rows", nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "code=1047") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[1], "code=1180") {
		t.Errorf("second line %q", lines[1])
	}
	if !strings.Contains(lines[2], "level=INFO") || !strings.Contains(lines[2], "failed_tries=365") {
		t.Errorf("last line %q", lines[2])
	}
}
