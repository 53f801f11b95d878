-- +goose Up
-- What each staff member chose for themselves: their time zone and language (empty: follow
-- the browser), and when they last looked at the conversations list ("new since" markers).
CREATE TABLE user_preferences (
  user_id INTEGER NOT NULL PRIMARY KEY,
  time_zone TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT '',
  conversations_seen_at BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE user_preferences;
