package store

import (
	"context"

	"coexhistory/internal/coex"
)

// Ingester is the ingest's handle on the store: every method of DB (the inbox ones are what
// the worker needs besides applying), with one difference that its type states: the
// message writes of its Apply* methods call pace between their statements, on MySQL/MariaDB. The ingest passes a wait for
// webhooks being received (ingest.Pacer.Wait), so that a chunk of thousands of messages
// lets their answers go first; its transaction then holds only the locks of its own new and
// merged messages. (SQLite has one writer: a transaction waiting there would hold the very
// lock the webhook's insert waits for, so it never paces.) A *DB never paces.
type Ingester struct {
	*DB     // unpaced: the inbox and every other method
	db  *DB // paced: the Apply* methods
}

// NewIngester returns the ingest's handle on db; pace may be nil (no waits).
func NewIngester(db *DB, pace func(context.Context)) *Ingester {
	c := *db
	c.pace = pace
	return &Ingester{DB: db, db: &c}
}

// ApplyChunk is DB.ApplyChunk, paced.
func (i *Ingester) ApplyChunk(ctx context.Context, in ChunkInput) (ChunkResult, error) {
	return i.db.ApplyChunk(ctx, in)
}

// ApplyHistoryErrors is DB.ApplyHistoryErrors.
func (i *Ingester) ApplyHistoryErrors(ctx context.Context, phoneNumberID string, errs []coex.HistoryError) error {
	return i.db.ApplyHistoryErrors(ctx, phoneNumberID, errs)
}

// ApplyMediaUpdates is DB.ApplyMediaUpdates, paced.
func (i *Ingester) ApplyMediaUpdates(ctx context.Context, phoneNumberID string, msgs []coex.Message) (ApplyResult, error) {
	return i.db.ApplyMediaUpdates(ctx, phoneNumberID, msgs)
}

// ApplyContacts is DB.ApplyContacts.
func (i *Ingester) ApplyContacts(ctx context.Context, phoneNumberID string, changes []coex.ContactChange) error {
	return i.db.ApplyContacts(ctx, phoneNumberID, changes)
}

// ApplyMessages is DB.ApplyMessages, paced.
func (i *Ingester) ApplyMessages(ctx context.Context, phoneNumberID string, msgs []coex.Message) (ApplyResult, error) {
	return i.db.ApplyMessages(ctx, phoneNumberID, msgs)
}

// ApplyEdits is DB.ApplyEdits, paced.
func (i *Ingester) ApplyEdits(ctx context.Context, phoneNumberID string, edits []coex.Edit) (ApplyResult, error) {
	return i.db.ApplyEdits(ctx, phoneNumberID, edits)
}

// ApplyRevokes is DB.ApplyRevokes, paced.
func (i *Ingester) ApplyRevokes(ctx context.Context, phoneNumberID string, revokes []coex.Revoke) (ApplyResult, error) {
	return i.db.ApplyRevokes(ctx, phoneNumberID, revokes)
}

// ApplyStatuses is DB.ApplyStatuses, paced.
func (i *Ingester) ApplyStatuses(ctx context.Context, phoneNumberID string, statuses []coex.StatusUpdate) (ApplyResult, error) {
	return i.db.ApplyStatuses(ctx, phoneNumberID, statuses)
}

// ApplyAccountEvent is DB.ApplyAccountEvent.
func (i *Ingester) ApplyAccountEvent(ctx context.Context, in AccountInput) (int, error) {
	return i.db.ApplyAccountEvent(ctx, in)
}
