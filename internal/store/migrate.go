package store

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"

	"coexhistory/migrations"
)

// MigrationStatus is one versioned migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// ErrSchemaOutdated is returned by CheckSchema when migrations are pending.
type ErrSchemaOutdated struct{ Current, Latest int64 }

func (e *ErrSchemaOutdated) Error() string {
	return fmt.Sprintf("database schema is at version %d but this build needs %d: run `coexhistory migrate up`", e.Current, e.Latest)
}

func (db *DB) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, db.dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", db.dialect, err)
	}
	dialect := goose.DialectMySQL
	if db.dialect == SQLite {
		dialect = goose.DialectSQLite3
	}
	p, err := goose.NewProvider(dialect, db.SQL(), sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", db.dialect, err)
	}
	return p, nil
}

// Migrate applies every pending migration and returns the names it applied.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	p, err := db.migrator()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	var applied []string
	for _, r := range results {
		if r.Error == nil {
			applied = append(applied, filepath.Base(r.Source.Path))
		}
	}
	if err != nil {
		return applied, fmt.Errorf("apply migrations: %w", err)
	}
	return applied, nil
}

// MigrationStatuses lists every known migration with its state.
func (db *DB) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	p, err := db.migrator()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      filepath.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// CheckSchema returns *ErrSchemaOutdated when the database lags behind this build.
func (db *DB) CheckSchema(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	sources := p.ListSources()
	latest := int64(0)
	if n := len(sources); n > 0 {
		latest = sources[n-1].Version
	}
	if current < latest {
		return &ErrSchemaOutdated{Current: current, Latest: latest}
	}
	return nil
}
