package syncstate

import (
	"slices"
	"testing"

	"coexhistory/models"
)

// TestNext checks every (state, event) pair of the sync state machine.
func TestNext(t *testing.T) {
	const (
		nr = models.SyncNotRequested
		rq = models.SyncRequested
		rc = models.SyncReceiving
		cp = models.SyncComplete
		dc = models.SyncDeclined
		fl = models.SyncFailed
		to = models.SyncTimedOut
	)
	// want[state][event] = next state, or "" when the event does not apply there.
	want := map[string]map[Event]string{
		nr: {EventRequest: rq, EventRequestFailed: "", EventChunk: rc, EventLastChunk: cp, EventDeclined: dc, EventHistoryError: fl, EventTimeout: ""},
		rq: {EventRequest: "", EventRequestFailed: fl, EventChunk: rc, EventLastChunk: cp, EventDeclined: dc, EventHistoryError: fl, EventTimeout: to},
		rc: {EventRequest: "", EventRequestFailed: "", EventChunk: rc, EventLastChunk: cp, EventDeclined: dc, EventHistoryError: fl, EventTimeout: ""},
		cp: {EventRequest: "", EventRequestFailed: "", EventChunk: "", EventLastChunk: "", EventDeclined: "", EventHistoryError: "", EventTimeout: ""},
		dc: {EventRequest: "", EventRequestFailed: "", EventChunk: "", EventLastChunk: "", EventDeclined: "", EventHistoryError: "", EventTimeout: ""},
		// A failed request may be retried; a chunk proves Meta accepted it after all.
		fl: {EventRequest: rq, EventRequestFailed: "", EventChunk: rc, EventLastChunk: cp, EventDeclined: dc, EventHistoryError: fl, EventTimeout: ""},
		// Late chunks still count after a timeout.
		to: {EventRequest: "", EventRequestFailed: "", EventChunk: rc, EventLastChunk: cp, EventDeclined: dc, EventHistoryError: fl, EventTimeout: ""},
	}
	if len(want) != len(States) {
		t.Fatalf("table has %d states, the machine %d", len(want), len(States))
	}
	for _, from := range States {
		for _, ev := range Events {
			exp, listed := want[from][ev]
			if !listed {
				t.Fatalf("table misses (%s, %s)", from, ev)
			}
			got, ok := Next(from, ev)
			switch {
			case exp == "" && (ok || got != from):
				t.Errorf("Next(%s, %s) = %s, %v; want ignored", from, ev, got, ok)
			case exp != "" && (!ok || got != exp):
				t.Errorf("Next(%s, %s) = %s, %v; want %s", from, ev, got, ok, exp)
			}
		}
	}
	if got, ok := Next("", EventRequest); !ok || got != rq {
		t.Errorf("an empty state is not_requested: Next = %s, %v", got, ok)
	}
}

func TestSources(t *testing.T) {
	cases := map[Event][]string{
		EventRequest:       {models.SyncNotRequested, models.SyncFailed},
		EventRequestFailed: {models.SyncRequested},
		EventTimeout:       {models.SyncRequested},
		EventChunk:         {models.SyncNotRequested, models.SyncRequested, models.SyncReceiving, models.SyncFailed, models.SyncTimedOut},
	}
	for ev, want := range cases {
		if got := Sources(ev); !slices.Equal(got, want) {
			t.Errorf("Sources(%s) = %v, want %v", ev, got, want)
		}
	}
}

func TestRunning(t *testing.T) {
	for _, s := range States {
		want := s == models.SyncRequested || s == models.SyncReceiving
		if Running(s) != want {
			t.Errorf("Running(%s) = %v", s, !want)
		}
	}
}
