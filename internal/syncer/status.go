// Package syncer runs the history sync of business numbers: Meta's rules (the 24 h window
// after onboarding, once per number), the request to the provider, and the sync state
// machine that webhooks move forward.
package syncer

import (
	"time"

	"coexhistory/models"
)

// Window is how long after onboarding Meta accepts a sync request.
const Window = 24 * time.Hour

// Status is a number's sync as staff see it.
type Status struct {
	State          string // models.Sync*
	Progress       int
	Reason         string // failure or decline reason in plain words
	ErrorCode      int
	CanSync        bool
	DisabledReason string     // why Sync is not possible now
	WindowEndsAt   *time.Time // onboarded_at + 24 h, nil when unknown
}

// Describe derives the status of a number from its sync run (zero value when none) at now.
// A sync still waiting for its first webhook after timeout is timed out.
func Describe(n models.BusinessNumber, run models.SyncRun, now time.Time, timeout time.Duration) Status {
	s := Status{State: run.State, Progress: run.Progress, ErrorCode: run.ErrorCode, Reason: run.ErrorMessage}
	if s.State == "" {
		s.State = models.SyncNotRequested
	}
	if s.State == models.SyncRequested && run.RequestedAt != nil && timeout > 0 && now.Sub(*run.RequestedAt) > timeout {
		s.State = models.SyncTimedOut
	}
	if n.OnboardedAt != nil {
		end := n.OnboardedAt.Add(Window)
		s.WindowEndsAt = &end
	}
	switch {
	case s.State == models.SyncComplete:
		s.DisabledReason = "The history has been synced; Meta allows the sync once per number and onboarding."
	case s.State == models.SyncDeclined:
		s.DisabledReason = "The business declined to share its history; Meta allows the sync once per number, so it must onboard again first."
	case s.State != models.SyncNotRequested && s.State != models.SyncFailed:
		s.DisabledReason = "The history sync was already requested; Meta allows it once per number."
	case run.ErrorCode == 2593107:
		s.DisabledReason = "Meta says the sync was already requested for this number."
	case run.ErrorCode == 2593108:
		s.DisabledReason = "Meta says the 24 h window after onboarding has closed."
	case n.AccountState == models.AccountRemoved || n.AccountState == models.AccountOffboarded || n.AccountState == models.AccountUninstalled:
		s.DisabledReason = "The business disconnected this number; onboard it again first."
	case n.OnboardedAt == nil:
		s.DisabledReason = "Set the onboarding time first: Meta allows the sync only within 24 h of onboarding."
	case now.Before(*n.OnboardedAt):
		s.DisabledReason = "The onboarding time is in the future."
	case !now.Before(*s.WindowEndsAt):
		s.DisabledReason = "The 24 h window after onboarding has closed; the business must onboard again."
	default:
		s.CanSync = true
	}
	return s
}
