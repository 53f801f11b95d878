-- +goose Up
-- What each staff member chose for themselves: their time zone and language (empty: follow
-- the browser), and when they last looked at the conversations list ("new since" markers).
CREATE TABLE user_preferences (
  user_id               BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  time_zone             VARCHAR(64) NOT NULL DEFAULT '',
  language              VARCHAR(16) NOT NULL DEFAULT '',
  conversations_seen_at BIGINT      NOT NULL DEFAULT 0,
  updated_at            DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE user_preferences;
