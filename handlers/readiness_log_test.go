package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	gomysql "github.com/go-sql-driver/mysql"

	"coexhistory/internal/store"
)

type fakeHealth struct{ ping, schema, write error }

func (f *fakeHealth) Ping(context.Context) error               { return f.ping }
func (f *fakeHealth) CheckSchema(context.Context) error        { return f.schema }
func (f *fakeHealth) CheckWrite(context.Context, string) error { return f.write }

// /readyz names the database condition (a Galera node cut off from its cluster answers 1047,
// a commit without the primary component 1180) instead of "schema outdated", and logs each
// cause once, not once per probe.
func TestReadyzNamesTheDatabaseCause(t *testing.T) {
	var logs bytes.Buffer
	health := &fakeHealth{}
	h := New(Deps{Health: health, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	e := echo.New()
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		if err := h.readyz(e.NewContext(httptest.NewRequest(http.MethodGet, "/readyz", nil), rec)); err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body["reason"]
	}
	notPrepared := &gomysql.MySQLError{Number: 1047, Message: "WSREP has not yet prepared node for application use"}
	health.schema = fmt.Errorf("read schema version: %w", notPrepared)
	for range 5 {
		code, reason := probe()
		if code != http.StatusServiceUnavailable || !strings.Contains(reason, "1047") || !strings.Contains(reason, "not prepared") || strings.Contains(reason, "outdated") {
			t.Fatalf("1047: %d %q", code, reason)
		}
	}
	health.schema = nil
	health.write = fmt.Errorf("check write: %w", &gomysql.MySQLError{Number: 1180, Message: "Got error 6 \"No such device or address\" during COMMIT"})
	if code, reason := probe(); code != http.StatusServiceUnavailable || !strings.Contains(reason, "1180") || !strings.Contains(reason, "cannot take a write") {
		t.Fatalf("1180: %d %q", code, reason)
	}
	health.write = nil
	if code, _ := probe(); code != http.StatusOK {
		t.Fatalf("ready: %d", code)
	}
	health.schema = &store.ErrSchemaOutdated{Current: 3, Latest: 9}
	if code, reason := probe(); code != http.StatusServiceUnavailable || reason != "database schema outdated" {
		t.Fatalf("outdated: %d %q", code, reason)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "code=1047") || !strings.Contains(lines[1], "code=1180") ||
		!strings.Contains(lines[2], "ready again") {
		t.Fatalf("logs (%d lines):\n%s", len(lines), logs.String())
	}
}
