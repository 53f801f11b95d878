package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const mPNID = "623400011122233"

func mediaMsg(wamid, typ, mediaID string, ts int64) coex.Message {
	raw := fmt.Sprintf(`{"from":"5511912345678","id":%q,"timestamp":"%d","type":%q,%q:{"id":%q,"mime_type":"image/jpeg","sha256":"%064x","filename":"nota.pdf"}}`,
		wamid, ts, typ, typ, mediaID, len(mediaID))
	return coex.Message{WAMID: wamid, ContactWAID: "5511912345678", Direction: coex.DirectionInbound, Type: typ,
		Timestamp: ts, Origin: coex.OriginLive, MediaID: mediaID, MimeType: "image/jpeg", Raw: []byte(raw)}
}

func mediaJobs(t *testing.T, db *store.DB) []models.MediaJob {
	t.Helper()
	jobs, err := db.ListMediaJobs(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestMediaJobsOncePerMediaID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		msgs := []coex.Message{mediaMsg("wamid.A", "image", "9001", 1760000000), mediaMsg("wamid.B", "document", "9002", 1760000001),
			{WAMID: "wamid.T", ContactWAID: "5511912345678", Direction: coex.DirectionInbound, Type: "text", Text: "oi", Timestamp: 1760000002, Origin: coex.OriginLive}}
		for range 3 { // replays create nothing new
			if _, err := db.ApplyMessages(ctx, mPNID, msgs); err != nil {
				t.Fatal(err)
			}
		}
		// Another message with the same media id (a forward) shares the job.
		if _, err := db.ApplyMessages(ctx, mPNID, []coex.Message{mediaMsg("wamid.C", "image", "9001", 1760000003)}); err != nil {
			t.Fatal(err)
		}
		// A history placeholder, then its media follow-up.
		ph := coex.Message{WAMID: "wamid.H", ContactWAID: "5511912345678", Direction: coex.DirectionInbound, Type: coex.TypeMediaPlaceholder,
			Timestamp: 1760000004, Origin: coex.OriginHistory}
		if _, err := db.ApplyChunk(ctx, store.ChunkInput{PhoneNumberID: mPNID, Chunk: coex.Chunk{Phase: 0, ChunkOrder: 1, Progress: 10,
			Messages: []coex.Message{ph}}}); err != nil {
			t.Fatal(err)
		}
		if n := len(mediaJobs(t, db)); n != 2 {
			t.Fatalf("%d jobs before the follow-up, want 2", n)
		}
		fu := mediaMsg("wamid.H", "audio", "9003", 1760000004)
		fu.Origin = coex.OriginHistory
		for range 2 {
			if _, err := db.ApplyMediaUpdates(ctx, mPNID, []coex.Message{fu}); err != nil {
				t.Fatal(err)
			}
		}
		jobs := mediaJobs(t, db)
		if len(jobs) != 3 {
			t.Fatalf("%d jobs, want 3: %+v", len(jobs), jobs)
		}
		got := map[string]models.MediaJob{}
		for _, j := range jobs {
			got[j.MediaID] = j
		}
		d := got["9002"]
		if d.Kind != "document" || d.Filename != "nota.pdf" || d.WAMID != "wamid.B" || d.State != models.MediaPending || len(d.ExpectedSHA256) != 64 {
			t.Fatalf("document job: %+v", d)
		}
		if got["9003"].Kind != "audio" || got["9001"].WAMID != "wamid.A" {
			t.Fatalf("jobs: %+v", got)
		}
		if counts, err := db.MediaJobCounts(ctx); err != nil || len(counts) != 1 || counts[models.MediaPending] != 3 {
			t.Fatalf("media job counts = %v, %v; want 3 pending", counts, err)
		}
		// The same media id on another number is another job.
		if _, err := db.ApplyMessages(ctx, "623400099988877", []coex.Message{mediaMsg("wamid.A", "image", "9001", 1760000000)}); err != nil {
			t.Fatal(err)
		}
		if n := len(mediaJobs(t, db)); n != 4 {
			t.Fatalf("%d jobs, want 4", n)
		}
	})
}

func TestMediaJobLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ApplyMessages(ctx, mPNID, []coex.Message{mediaMsg("wamid.A", "image", "9001", 1760000000),
			mediaMsg("wamid.B", "image", "9002", 1760000001)}); err != nil {
			t.Fatal(err)
		}
		a, err := db.ClaimMediaJobs(ctx, "A", 300*time.Millisecond, 1)
		if err != nil || len(a) != 1 || a[0].MediaID != "9001" || a[0].Attempts != 1 || a[0].State != models.MediaProcessing {
			t.Fatalf("claim A: %+v %v", a, err)
		}
		b, err := db.ClaimMediaJobs(ctx, "B", time.Minute, 5)
		if err != nil || len(b) != 1 || b[0].MediaID != "9002" {
			t.Fatalf("claim B: %+v %v", b, err)
		}
		if c, _ := db.ClaimMediaJobs(ctx, "C", time.Minute, 5); len(c) != 0 {
			t.Fatalf("leased jobs claimed again: %+v", c)
		}
		// A crashes: its lease runs out and C takes the job over; A's late result is refused.
		time.Sleep(400 * time.Millisecond)
		c, err := db.ClaimMediaJobs(ctx, "C", time.Minute, 5)
		if err != nil || len(c) != 1 || c[0].ID != a[0].ID || c[0].Attempts != 2 {
			t.Fatalf("take-over: %+v %v", c, err)
		}
		if err := db.CompleteMediaJob(ctx, a[0].ID, "A", fmt.Sprintf("%064x", 1), 10, "image/jpeg"); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("late complete: %v", err)
		}
		if err := db.ExtendMediaLease(ctx, c[0].ID, "C", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := db.CompleteMediaJob(ctx, c[0].ID, "C", fmt.Sprintf("%064x", 1), 10, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		// B's job: a transient failure, due later; then a final failure and Retry.
		if err := db.RetryMediaJob(ctx, b[0].ID, "B", "HTTP 429", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ClaimMediaJobs(ctx, "D", time.Minute, 5); len(got) != 0 {
			t.Fatalf("a job not due was claimed: %+v", got)
		}
		if err := db.RetryMediaJob(ctx, b[0].ID, "B", "x", time.Now()); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("retry without lease: %v", err)
		}
		if err := db.RequeueMediaJob(ctx, mPNID, "9002"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requeue of a pending job: %v", err)
		}
		j, _ := db.MediaJob(ctx, mPNID, "9002")
		if j.State != models.MediaPending || j.Error != "HTTP 429" {
			t.Fatalf("retried job: %+v", j)
		}
		if err := db.EndMediaJob(ctx, j.ID, "B", models.MediaFailed, "x"); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("end without lease: %v", err)
		}
		if _, err := db.SQL().ExecContext(ctx, "UPDATE media_jobs SET next_attempt_ms = 0 WHERE id = ?", j.ID); err != nil {
			t.Fatal(err)
		}
		d, _ := db.ClaimMediaJobs(ctx, "D", time.Minute, 5)
		if len(d) != 1 {
			t.Fatalf("due job not claimed: %+v", d)
		}
		if err := db.EndMediaJob(ctx, j.ID, "D", models.MediaFailed, "sha256 mismatch"); err != nil {
			t.Fatal(err)
		}
		if err := db.RequeueMediaJob(ctx, mPNID, "9002"); err != nil {
			t.Fatal(err)
		}
		j, _ = db.MediaJob(ctx, mPNID, "9002")
		if j.State != models.MediaPending || j.Attempts != 0 {
			t.Fatalf("requeued: %+v", j)
		}

		st, err := db.MediaStats(ctx, mPNID)
		if err != nil || st.Stored != 1 || st.Bytes != 10 || st.UniqueBytes != 10 || st.ByState[models.MediaPending] != 1 {
			t.Fatalf("stats: %+v %v", st, err)
		}
		m, job, err := db.MessageMedia(ctx, mPNID, "wamid.A")
		if err != nil || job == nil || job.State != models.MediaDone || m.MediaID != "9001" {
			t.Fatalf("message media: %+v %+v %v", m, job, err)
		}
		if _, _, err := db.MessageMedia(ctx, "623400099988877", "wamid.A"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another number's message: %v", err)
		}

		// Retention: the file of the old message is purged and no longer referenced.
		orphans, n, err := db.PurgeMedia(ctx, time.Unix(1760000000+1, 0), 100)
		if err != nil || n != 1 || len(orphans) != 1 || orphans[0] != fmt.Sprintf("%064x", 1) {
			t.Fatalf("purge: %v %d %v", orphans, n, err)
		}
	})
}
