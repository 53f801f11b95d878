package syncer

import (
	"testing"
	"time"

	"coexhistory/models"
)

func TestDescribe(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	cases := []struct {
		name      string
		n         models.BusinessNumber
		run       models.SyncRun
		wantState string
		wantCan   bool
	}{
		{"fresh in window", models.BusinessNumber{OnboardedAt: ago(time.Hour)}, models.SyncRun{}, models.SyncNotRequested, true},
		{"no onboarding time", models.BusinessNumber{}, models.SyncRun{}, models.SyncNotRequested, false},
		{"window closed", models.BusinessNumber{OnboardedAt: ago(25 * time.Hour)}, models.SyncRun{}, models.SyncNotRequested, false},
		{"future onboarding", models.BusinessNumber{OnboardedAt: ago(-time.Hour)}, models.SyncRun{}, models.SyncNotRequested, false},
		{"already requested", models.BusinessNumber{OnboardedAt: ago(time.Hour)}, models.SyncRun{State: models.SyncRequested, RequestedAt: ago(time.Minute)}, models.SyncRequested, false},
		{"requested long ago times out", models.BusinessNumber{OnboardedAt: ago(2 * time.Hour)}, models.SyncRun{State: models.SyncRequested, RequestedAt: ago(25 * time.Hour)}, models.SyncTimedOut, false},
		{"receiving", models.BusinessNumber{OnboardedAt: ago(time.Hour)}, models.SyncRun{State: models.SyncReceiving, Progress: 40}, models.SyncReceiving, false},
		{"failed transient may retry", models.BusinessNumber{OnboardedAt: ago(time.Hour)}, models.SyncRun{State: models.SyncFailed, ErrorCode: 2}, models.SyncFailed, true},
		{"failed already requested", models.BusinessNumber{OnboardedAt: ago(time.Hour)}, models.SyncRun{State: models.SyncFailed, ErrorCode: 2593107}, models.SyncFailed, false},
		{"partner removed", models.BusinessNumber{OnboardedAt: ago(time.Hour), AccountState: models.AccountRemoved}, models.SyncRun{}, models.SyncNotRequested, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Describe(tc.n, tc.run, now, 24*time.Hour)
			if s.State != tc.wantState || s.CanSync != tc.wantCan {
				t.Fatalf("Describe = state %s can %v (%q), want %s %v", s.State, s.CanSync, s.DisabledReason, tc.wantState, tc.wantCan)
			}
			if !s.CanSync && s.DisabledReason == "" {
				t.Fatal("disabled without a reason")
			}
		})
	}
}
