package media_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"coexhistory/internal/coex"
	"coexhistory/internal/media"
	"coexhistory/internal/sim"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func liveMedia(wamid, typ, mediaID, mime string) coex.Message {
	raw := fmt.Sprintf(`{"from":"5511912345678","id":%q,"timestamp":"1760000000","type":%q,%q:{"id":%q,"mime_type":%q}}`,
		wamid, typ, typ, mediaID, mime)
	return coex.Message{WAMID: wamid, ContactWAID: "5511912345678", Direction: coex.DirectionInbound, Type: typ,
		Timestamp: 1760000000, Origin: coex.OriginLive, MediaID: mediaID, MimeType: mime, Raw: []byte(raw)}
}

func newWorker(r *rig, db *store.DB, lease time.Duration) *media.Worker {
	return media.NewWorker(db, media.SourceFunc(func(context.Context, string) (media.Source, error) { return meta, nil }),
		r.dl, nil, media.WorkerOptions{Concurrency: 3, Lease: lease, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond, MaxAttempts: 4})
}

// runUntilSettled runs the worker until no job is pending or processing.
func runUntilSettled(t *testing.T, w *media.Worker, db *store.DB) map[string]models.MediaJob {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		jobs, err := db.ListMediaJobs(ctx, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]models.MediaJob{}
		busy := false
		for _, j := range jobs {
			out[j.MediaID] = j
			busy = busy || j.State == models.MediaPending || j.State == models.MediaProcessing
		}
		if !busy {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not settled: %+v", jobs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWorkerEndsEveryFaultInItsState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, 150*time.Millisecond)
		files := map[string]sim.MediaFaults{
			"5001": {},                                      // fine
			"5002": {Expired: true},                         // Meta no longer has it
			"5003": {RateLimitOnce: true},                   // 429 once, then fine
			"5004": {URLExpired: true},                      // a fresh URL is asked for
			"5005": {SHAMismatch: true},                     // never stored
			"5006": {ServerError: true},                     // 503 every time: gives up
			"5007": {Slow: 400 * time.Millisecond},          // stalls every time: gives up
			"5008": {},                                      // the same bytes as 5009: stored once
			"5009": {},                                      //
			"5010": {RateLimitOnce: true, URLExpired: true}, // both
		}
		var msgs []coex.Message
		for id, f := range files {
			mime := "image/jpeg"
			if id == "5008" || id == "5009" {
				mime = "audio/ogg"
			}
			r.sim.AddMedia(sim.MediaFile{ID: id, MimeType: mime})
			r.sim.SetMediaFault(id, f)
			msgs = append(msgs, liveMedia("wamid."+id, "image", id, mime))
		}
		if _, err := db.ApplyMessages(ctx, metaPNID, msgs); err != nil {
			t.Fatal(err)
		}
		jobs := runUntilSettled(t, newWorker(r, db, time.Minute), db)
		want := map[string]string{
			"5001": models.MediaDone, "5002": models.MediaExpired, "5003": models.MediaDone, "5004": models.MediaDone,
			"5005": models.MediaFailed, "5006": models.MediaFailed, "5007": models.MediaFailed, "5008": models.MediaDone,
			"5009": models.MediaDone, "5010": models.MediaDone,
		}
		for id, state := range want {
			if jobs[id].State != state {
				t.Errorf("%s: state %s (%s), want %s", id, jobs[id].State, jobs[id].Error, state)
			}
		}
		if j := jobs["5005"]; j.SHA256 != "" || !contains(j.Error, "sha256 mismatch") {
			t.Errorf("mismatch job: %+v", j)
		}
		if ok, _ := r.st.Has(ctx, sum(sim.MediaContent(sim.MediaFile{ID: "5005", MimeType: "image/jpeg"}))); ok {
			t.Error("the file of a sha256 mismatch was stored")
		}
		if j := jobs["5006"]; j.Attempts != 4 || !contains(j.Error, "gave up after 4 attempts") {
			t.Errorf("5xx job: %+v", j)
		}
		if j := jobs["5002"]; !contains(j.Error, "code 100") {
			t.Errorf("expired job: %+v", j)
		}
		if jobs["5008"].SHA256 != jobs["5009"].SHA256 || jobs["5008"].SHA256 == "" {
			t.Errorf("identical files: %s %s", jobs["5008"].SHA256, jobs["5009"].SHA256)
		}
		d := jobs["5001"]
		content := sim.MediaContent(sim.MediaFile{ID: "5001", MimeType: "image/jpeg"})
		if d.SHA256 != sum(content) || d.Size != int64(len(content)) || d.StoredMimeType != "image/jpeg" || d.DoneAt == nil {
			t.Errorf("done job: %+v", d)
		}
		obj, err := r.st.Open(ctx, d.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj)
		_ = obj.Close()
		if string(b) != string(content) {
			t.Error("stored bytes differ")
		}
	})
}

// A worker killed in the middle of a download loses nothing: its lease runs out and another
// worker downloads the file.
func TestCrashMidDownloadResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, 10*time.Second)
		f := sim.MediaFile{ID: "6001", MimeType: "video/mp4", Size: 2 << 20}
		r.sim.AddMedia(f)
		r.sim.SetMediaFault(f.ID, sim.MediaFaults{Slow: 20 * time.Millisecond})
		if _, err := db.ApplyMessages(ctx, metaPNID, []coex.Message{liveMedia("wamid.V", "video", f.ID, f.MimeType)}); err != nil {
			t.Fatal(err)
		}
		first := newWorker(r, db, 500*time.Millisecond)
		cctx, cancel := context.WithCancel(ctx)
		var stopped atomic.Bool
		go func() { _ = first.Run(cctx); stopped.Store(true) }()
		// Wait until the download is under way, then "kill" the worker.
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, downloads := r.sim.MediaCalls(); downloads > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("download never started")
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
		for !stopped.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		j, _ := db.MediaJob(ctx, metaPNID, f.ID)
		if j.State != models.MediaProcessing {
			t.Fatalf("after the crash: %+v", j)
		}
		if ok, _ := r.st.Has(ctx, sum(sim.MediaContent(f))); ok {
			t.Fatal("a partial download was published")
		}
		r.sim.SetMediaFault(f.ID, sim.MediaFaults{})
		jobs := runUntilSettled(t, newWorker(r, db, time.Minute), db)
		if j := jobs[f.ID]; j.State != models.MediaDone || j.Size != f.Size || j.Attempts != 2 {
			t.Fatalf("resumed job: %+v", j)
		}
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
