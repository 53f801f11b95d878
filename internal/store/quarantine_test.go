package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

// A message the database refuses (here a position MariaDB's INT cannot hold) is reported
// and every other message of its 2,000-message chunk is stored; the chunk is recorded and
// the sync run moves on. Text with invalid UTF-8 is stored with the bytes replaced.
func TestChunkWithARefusedMessageStoresTheOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		msgs := make([]coex.Message, 0, 2000)
		for i := range 2000 {
			m := msg(fmt.Sprintf("w%04d", i), "551100", int64(100+i), "text", fmt.Sprintf("mensagem %d", i), "read", i%2 == 0)
			if i == 1234 {
				m.Text, m.Raw = "caf\xe9", []byte("{\"text\":\"caf\xe9\"}")
			}
			msgs = append(msgs, m)
		}
		in := chunk(1, 1, 100, msgs...)
		in.Chunk.Messages[777].Position = 1 << 40 // chunk numbers positions from 0
		res, err := db.ApplyChunk(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		wantStored, wantRejected := 2000, 0
		if db.Dialect() == store.MySQL {
			wantStored, wantRejected = 1999, 1
		}
		if res.Inserted != wantStored || len(res.Rejected) != wantRejected || !res.NewChunk {
			t.Fatalf("result = inserted %d rejected %+v new %v", res.Inserted, res.Rejected, res.NewChunk)
		}
		if wantRejected == 1 && (res.Rejected[0].WAMID != "w0777" || res.Rejected[0].Contact != "551100" || !strings.Contains(res.Rejected[0].Err, "1264")) {
			t.Fatalf("rejected = %+v", res.Rejected)
		}
		if _, n, _ := db.CountThreadsAndMessages(ctx, hPNID); n != int64(wantStored) {
			t.Fatalf("%d messages stored, want %d", n, wantStored)
		}
		var text, raw string
		if err := db.SQL().QueryRow("SELECT text, raw FROM messages WHERE wamid = ?", "w1234").Scan(&text, &raw); err != nil || text != "caf\uFFFD" || raw != "{\"text\":\"caf\uFFFD\"}" {
			t.Fatalf("invalid UTF-8 stored as %q %q (%v)", text, raw, err)
		}
		if run := syncRun(t, db); run.Progress != 100 {
			t.Fatalf("sync run = %+v", run)
		}
		// Applying the same chunk again stores nothing twice and refuses the same message.
		res, err = db.ApplyChunk(ctx, in)
		if err != nil || res.Inserted != 0 || len(res.Rejected) != wantRejected {
			t.Fatalf("again: %+v %v", res, err)
		}
	})
}

func TestIsPermanent(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&gomysql.MySQLError{Number: 1366, Message: "Incorrect string value"}, true},
		{fmt.Errorf("apply: %w", &gomysql.MySQLError{Number: 1406, Message: "Data too long"}), true},
		{&gomysql.MySQLError{Number: 1264}, true},
		{&gomysql.MySQLError{Number: 1213, Message: "Deadlock"}, false},
		{&gomysql.MySQLError{Number: 2006, Message: "server has gone away"}, false},
		{errors.New("NOT NULL constraint failed: messages.text"), true},
		{errors.New("database is locked"), false},
		{nil, false},
	} {
		if got := store.IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
