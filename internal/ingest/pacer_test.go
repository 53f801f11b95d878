package ingest_test

import (
	"context"
	"testing"
	"time"

	"coexhistory/internal/ingest"
)

func TestPacerWaitLastsWhileAWebhookIsReceived(t *testing.T) {
	f := ingest.NewPacer(time.Minute)
	ctx := context.Background()
	start := time.Now()
	f.Wait(ctx)
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("Wait with nothing received took %v", d)
	}

	end := f.Begin()
	other := f.Begin()
	released := make(chan time.Time, 1)
	go func() {
		f.Wait(ctx)
		released <- time.Now()
	}()
	time.Sleep(100 * time.Millisecond)
	end()
	end() // a second call changes nothing: the other receipt still holds
	if !f.Busy() {
		t.Fatal("not busy while a second webhook is still being received")
	}
	ended := time.Now()
	other()
	select {
	case at := <-released:
		if at.Before(ended) {
			t.Fatal("Wait returned while webhooks were being received")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return once every webhook was received")
	}
}

func TestPacerWaitIsBounded(t *testing.T) {
	f := ingest.NewPacer(30 * time.Millisecond)
	_ = f.Begin() // never ends
	start := time.Now()
	f.Wait(context.Background())
	if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Wait with a 30 ms limit took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	f = ingest.NewPacer(time.Minute)
	_ = f.Begin()
	f.Wait(ctx)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Wait after its context ended took %v", d)
	}
}

func TestNilPacerCountsNothing(t *testing.T) {
	var f *ingest.Pacer
	f.Begin()()
	if f.Busy() {
		t.Fatal("nil Pacer is busy")
	}
	f.Wait(context.Background())
}
