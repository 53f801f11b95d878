package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"coexhistory/internal/ingest"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// slowStore holds every ApplyChunk until release is closed.
type slowStore struct {
	*store.DB
	started chan struct{}
	release chan struct{}
	calls   atomic.Int32
}

func (s *slowStore) ApplyChunk(ctx context.Context, in store.ChunkInput) (store.ChunkResult, error) {
	if s.calls.Add(1) == 1 {
		close(s.started)
	}
	<-s.release
	return s.DB.ApplyChunk(ctx, in)
}

// A worker renews the lease of the row it is applying: however long the apply takes past
// the lease, no other worker claims the row, and it is applied once.
func TestLeaseIsRenewedWhileWorking(t *testing.T) {
	const pnid = "100200300400502"
	body := historyBody(pnid, exampleBusiness, chunkHistory(synthHistory(7, 2, 5), 10, 1)...)
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ids := e.insert(t, body)
		slow := &slowStore{DB: e.db, started: make(chan struct{}), release: make(chan struct{})}
		const lease = time.Second
		a := e.worker(t, slow, ingest.Options{Instance: "node-a", Lease: lease, Heartbeat: 20 * time.Millisecond})
		done := make(chan int)
		go func() {
			n, _ := a.ProcessOnce(ctx)
			done <- n
		}()
		<-slow.started
		b := e.worker(t, nil, ingest.Options{Instance: "node-b", Lease: lease})
		// Five times the lease passes while a applies; after each step a heartbeat renews it.
		for range 5 {
			e.clock.Advance(lease * 9 / 10)
			want := e.clock.Now().Add(lease).UnixMilli()
			deadline := time.Now().Add(5 * time.Second)
			for {
				row, err := e.db.GetInbox(ctx, ids[0])
				if err != nil {
					t.Fatal(err)
				}
				if row.LeaseUntilMs == want && row.LeaseOwner == a.Owner() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("lease not renewed: until %d, owner %q; want %d, %q", row.LeaseUntilMs, row.LeaseOwner, want, a.Owner())
				}
				time.Sleep(5 * time.Millisecond)
			}
			if n, err := b.ProcessOnce(ctx); err != nil || n != 0 {
				t.Fatalf("another worker processed %d rows (%v) while the lease was renewed", n, err)
			}
		}
		close(slow.release)
		if n := <-done; n != 1 {
			t.Fatalf("worker a processed %d rows", n)
		}
		row, _ := e.db.GetInbox(ctx, ids[0])
		if row.State != models.InboxDone || row.Attempts != 1 {
			t.Fatalf("row: state %s, %d attempts; want done after 1", row.State, row.Attempts)
		}
		// Without a heartbeat (the worker died) the lease ends after Lease.
		e.reset(t)
		ids = e.insert(t, body)
		if got, err := e.db.ClaimInbox(ctx, "node-a/dead", lease, 1); err != nil || len(got) != 1 {
			t.Fatalf("claim: %v, %v", got, err)
		}
		e.clock.Advance(lease + time.Millisecond)
		if n, err := b.ProcessOnce(ctx); err != nil || n != 1 {
			t.Fatalf("after the lease: processed %d (%v), want 1", n, err)
		}
	})
}

// An instance that restarts after being killed takes back its predecessor's claims at
// once, without waiting for their lease; another instance's claims are left alone.
func TestRestartedInstanceTakesOverAtOnce(t *testing.T) {
	const pnid = "100200300400503"
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var bodies [][]byte
		for i := range 3 {
			bodies = append(bodies, historyBody(pnid, exampleBusiness, chunkHistory(synthHistory(uint64(10+i), 2, 4), 8, i+1)...))
		}
		ids := e.insert(t, bodies...)
		// node-1's first run claims two rows and is killed; node-2 holds the third.
		if got, err := e.db.ClaimInbox(ctx, "node-1/4242-deadbeef", ingest.DefaultLease, 2); err != nil || len(got) != 2 {
			t.Fatalf("claim by node-1: %v, %v", got, err)
		}
		if got, err := e.db.ClaimInbox(ctx, "node-2/777-cafe", ingest.DefaultLease, 1); err != nil || len(got) != 1 {
			t.Fatalf("claim by node-2: %v, %v", got, err)
		}
		// A different instance whose name node-1 starts with is not node-1.
		other := e.worker(t, nil, ingest.Options{Instance: "node-10"})
		if n, err := other.TakeOver(ctx); err != nil || n != 0 {
			t.Fatalf("node-10 took over %d rows (%v)", n, err)
		}

		w := e.worker(t, nil, ingest.Options{Instance: "node-1", PollInterval: 10 * time.Millisecond})
		runCtx, stop := context.WithCancel(ctx)
		stopped := make(chan error)
		go func() { stopped <- w.Run(runCtx) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := e.counts(t)
			if c[models.InboxDone] == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("restarted node-1 did not take its rows back: %v", c)
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			row, _ := e.db.GetInbox(ctx, id)
			want := models.InboxDone
			if i == 2 {
				want = models.InboxProcessing // node-2's lease is still running
			}
			if row.State != want {
				t.Fatalf("row %d: %s, want %s", i, row.State, want)
			}
			if i < 2 && row.Attempts != 2 {
				t.Fatalf("row %d: %d attempts, want 2 (the killed run's and the new one's)", i, row.Attempts)
			}
		}
	})
}
