package store_test

import (
	"context"
	"testing"

	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

func TestDemotingRevokesAdminTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ana := addUser(t, db, "ana@x.io", models.RoleAdmin)
		other := addUser(t, db, "other@x.io", models.RoleAdmin)
		token := func(name, role string, owner uint64) {
			t.Helper()
			tok := models.APIToken{Name: name, Role: role, TokenHash: name, CreatedBy: "test", UserID: &owner}
			if err := db.CreateAPIToken(ctx, &tok); err != nil {
				t.Fatal(err)
			}
		}
		token("ana-admin", models.RoleAdmin, ana.ID)
		token("ana-agent", models.RoleAgent, ana.ID)
		token("other-admin", models.RoleAdmin, other.ID)

		if err := db.SetUserRole(ctx, ana.ID, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if err := db.SetUserRole(ctx, ana.ID, models.RoleAgent); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]bool{"ana-admin": false, "ana-agent": true, "other-admin": true} {
			_, err := db.APITokenByHash(ctx, name)
			if got := err == nil; got != want {
				t.Errorf("token %s kept = %v (%v), want %v", name, got, err, want)
			}
		}
	})
}
