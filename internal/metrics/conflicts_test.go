package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestDatabaseConflictsAreCounted(t *testing.T) {
	m := New(nil, nil)
	m.DatabaseConflict()
	m.DatabaseConflict()
	if got := testutil.ToFloat64(m.dbConflicts); got != 2 {
		t.Fatalf("database_conflicts_total = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(m.Registry, "coexhistory_database_conflicts_total"); err != nil || n != 1 {
		t.Fatalf("registered series %d (%v), want 1", n, err)
	}
}
