package store

import (
	"context"

	"coexhistory/models"
)

// Audit appends an entry to the audit log.
func (db *DB) Audit(ctx context.Context, e models.AuditEntry) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	if len(e.Detail) > 4000 {
		e.Detail = e.Detail[:4000]
	}
	return translate(db.q(ctx).Create(&e).Error)
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Action   string
	BeforeID uint64 // keyset cursor: entries with a smaller id
	Limit    int
}

// ListAudit lists entries newest first.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter) ([]models.AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := db.q(ctx).Model(&models.AuditEntry{})
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []models.AuditEntry
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, translate(err)
}
