// Package syncstate is the sync-run state machine: which events move a number's history sync
// from one state to another. The sync service (requests, time-outs) and the store (history
// webhooks) both follow it; it imports only models.
package syncstate

import "coexhistory/models"

// Event is something that moves a sync run from one state to another.
type Event string

// Events of the sync state machine.
const (
	EventRequest       Event = "request"        // staff pressed Sync and the rules allow it
	EventRequestFailed Event = "request_failed" // the provider refused or did not answer
	EventChunk         Event = "chunk"          // a history chunk arrived (progress < 100)
	EventLastChunk     Event = "last_chunk"     // a history chunk with progress 100 arrived
	EventDeclined      Event = "declined"       // the business declined to share (2593109)
	EventHistoryError  Event = "history_error"  // a history webhook carried another error
	EventTimeout       Event = "timeout"        // no webhook within the sync timeout
)

// States lists every sync state, in the order staff meet them.
var States = []string{
	models.SyncNotRequested, models.SyncRequested, models.SyncReceiving, models.SyncComplete,
	models.SyncDeclined, models.SyncFailed, models.SyncTimedOut,
}

// Events lists every event.
var Events = []Event{EventRequest, EventRequestFailed, EventChunk, EventLastChunk, EventDeclined, EventHistoryError, EventTimeout}

// Next is the sync state machine: the state after ev in state from, and whether ev applies
// there at all (a false ok means "ignore the event, keep the state").
//
//	not_requested → requested → receiving → complete
//	                    ├─────→ declined, failed, timed_out
//
// History webhooks are facts: a chunk counts whenever it comes, so a run that timed out,
// failed (the answer was lost but Meta accepted) or was never requested here moves to
// receiving (late chunks still count). A complete run stays complete (duplicates and media
// follow-ups arrive after progress 100) and a declined one stays declined. A history error
// other than a decline fails any other run, a receiving or timed-out one too (Meta says the
// sync will not finish). Only a run that is still waiting for its first webhook can time
// out. A new request is possible only before any request or after a failed one; whether
// Meta still allows it is syncer.Describe's business.
func Next(from string, ev Event) (to string, ok bool) {
	if from == "" {
		from = models.SyncNotRequested
	}
	switch ev {
	case EventRequest:
		if from == models.SyncNotRequested || from == models.SyncFailed {
			return models.SyncRequested, true
		}
	case EventRequestFailed:
		if from == models.SyncRequested {
			return models.SyncFailed, true
		}
	case EventChunk, EventLastChunk, EventDeclined, EventHistoryError:
		switch from {
		case models.SyncComplete, models.SyncDeclined:
			return from, false
		case models.SyncNotRequested, models.SyncRequested, models.SyncReceiving, models.SyncFailed, models.SyncTimedOut:
			switch ev {
			case EventLastChunk:
				return models.SyncComplete, true
			case EventDeclined:
				return models.SyncDeclined, true
			case EventHistoryError:
				return models.SyncFailed, true
			}
			return models.SyncReceiving, true
		}
	case EventTimeout:
		if from == models.SyncRequested {
			return models.SyncTimedOut, true
		}
	}
	return from, false
}

// Sources lists the states in which ev applies: the WHERE clause of a conditional update.
func Sources(ev Event) []string {
	var out []string
	for _, s := range States {
		if _, ok := Next(s, ev); ok {
			out = append(out, s)
		}
	}
	return out
}

// Running reports whether a run in state is waiting for or receiving webhooks: the progress
// panel polls only then. Every other state changes only by a new request or webhook.
func Running(state string) bool {
	return state == models.SyncRequested || state == models.SyncReceiving
}
