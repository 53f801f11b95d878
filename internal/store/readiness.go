package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// readinessProbe is one instance's row of readiness_probes.
type readinessProbe struct {
	Instance  string    `gorm:"column:instance;primaryKey"`
	CheckedAt time.Time `gorm:"column:checked_at"`
}

func (readinessProbe) TableName() string { return "readiness_probes" }

// CheckWrite proves that the database takes a write now: it upserts instance's row of
// readiness_probes in its own short transaction. It fails on a read-only server, a user
// without write grants, a full disk or a lock that does not clear within ctx.
func (db *DB) CheckWrite(ctx context.Context, instance string) error {
	if instance == "" {
		return errors.New("check write: empty instance")
	}
	p := readinessProbe{Instance: clip(instance, 64), CheckedAt: db.now()}
	err := db.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "instance"}},
		DoUpdates: clause.AssignmentColumns([]string{"checked_at"}),
	}).Create(&p).Error
	if err != nil {
		return fmt.Errorf("check write: %w", translate(err))
	}
	return nil
}
