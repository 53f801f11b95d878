-- +goose Up
-- /readyz writes its instance's row here to prove that the database takes writes.
CREATE TABLE readiness_probes (
  instance   VARCHAR(64) NOT NULL PRIMARY KEY,
  checked_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Retention: when the body of an applied webhook was purged (the row and its outcome stay).
ALTER TABLE webhook_inbox ADD COLUMN body_purged_at DATETIME(6) NULL;
-- Applied rows by age (the purge), and the rows of one number by state (webhooks kept for
-- a number that is not registered yet, released when it is).
CREATE INDEX ix_webhook_inbox_processed ON webhook_inbox (state, processed_at);
CREATE INDEX ix_webhook_inbox_number ON webhook_inbox (phone_number_id, state);

-- +goose Down
DROP INDEX ix_webhook_inbox_number ON webhook_inbox;
DROP INDEX ix_webhook_inbox_processed ON webhook_inbox;
ALTER TABLE webhook_inbox DROP COLUMN body_purged_at;
DROP TABLE readiness_probes;
