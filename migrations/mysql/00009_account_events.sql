-- +goose Up
-- Every account_update event, kept per business number it concerns (phone_number_id empty
-- when no registered number matched): what happened, why and who initiated it.
CREATE TABLE account_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id VARCHAR(64)  NOT NULL DEFAULT '',
  waba_id         VARCHAR(64)  NOT NULL DEFAULT '',
  named_number    VARCHAR(32)  NOT NULL DEFAULT '',
  event           VARCHAR(64)  NOT NULL,
  reason          VARCHAR(128) NOT NULL DEFAULT '',
  initiated_by    VARCHAR(32)  NOT NULL DEFAULT '',
  detail          VARCHAR(512) NOT NULL DEFAULT '',
  state_before    VARCHAR(32)  NOT NULL DEFAULT '',
  state_after     VARCHAR(32)  NOT NULL DEFAULT '',
  inbox_id        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  at              DATETIME(6)  NOT NULL,
  KEY ix_account_events_number (phone_number_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE account_events;
