-- +goose Up
-- Every account_update event, kept per business number it concerns (phone_number_id empty
-- when no registered number matched): what happened, why and who initiated it.
CREATE TABLE account_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL DEFAULT '',
  waba_id TEXT NOT NULL DEFAULT '',
  named_number TEXT NOT NULL DEFAULT '',
  event TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  initiated_by TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  state_before TEXT NOT NULL DEFAULT '',
  state_after TEXT NOT NULL DEFAULT '',
  inbox_id INTEGER NOT NULL DEFAULT 0,
  at DATETIME NOT NULL
);
CREATE INDEX ix_account_events_number ON account_events (phone_number_id, id);

-- +goose Down
DROP TABLE account_events;
