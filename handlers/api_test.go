package handlers_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

var updateAPIGolden = flag.Bool("update-api-golden", false, "rewrite handlers/testdata/api/*.json from the current output")

// TestAPIJSONBodies pins the bytes of every /api/v1 read: the JSON types live in handlers
// (api.go), and a change of a store type must not change what integrations receive. Only
// the times the fixture cannot fix (creation times) are masked.
func TestAPIJSONBodies(t *testing.T) {
	volatile := regexp.MustCompile(`"(created_at|updated_at)":"[^"]*"`)
	volatileUnix := regexp.MustCompile(`"(first_chunk_at|last_chunk_at|completed_at)":[0-9]+`)
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			token := app.Token(models.RoleAgent)
			// The second number has chunks with a gap and a history error, so the sync
			// status shows every field.
			ctx := context.Background()
			for _, order := range []int{1, 4} {
				m := coex.Message{WAMID: fmt.Sprintf("wamid.sync%d", order), ContactWAID: "5511900000001", Direction: coex.DirectionInbound,
					Type: "text", Text: "oi", Timestamp: 1758361290, Origin: coex.OriginHistory}
				if _, err := app.DB.ApplyChunk(ctx, store.ChunkInput{PhoneNumberID: convPNID2,
					Chunk: coex.Chunk{Phase: 1, ChunkOrder: order, Progress: 20 * order, ThreadCount: 1, Messages: []coex.Message{m}}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := app.DB.ApplyHistoryErrors(ctx, convPNID2, []coex.HistoryError{{Code: 131000, Title: "Something went wrong", Details: "try later"}}); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ name, path string }{
				{"numbers", "/api/v1/numbers"},
				{"sync", "/api/v1/numbers/" + convPNID + "/sync"},
				{"sync-failed", "/api/v1/numbers/" + convPNID2 + "/sync"},
				{"threads", "/api/v1/threads?phone_number_id=" + convPNID + "&limit=2"},
				{"messages", fmt.Sprintf("/api/v1/threads/%d/messages?limit=5", f.ana.ID)},
				{"search", "/api/v1/search?q=bolo&phone_number_id=" + convPNID},
			} {
				res, body := app.API(http.MethodGet, tc.path, token, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("%s = %d: %s", tc.path, res.StatusCode, body)
				}
				got := volatileUnix.ReplaceAllString(volatile.ReplaceAllString(body, `"$1":"…"`), `"$1":1`)
				file := filepath.Join("testdata", "api", tc.name+".json")
				if *updateAPIGolden {
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("%s body changed:\n got %s\nwant %s", tc.path, got, want)
				}
			}
		})
	}
}
