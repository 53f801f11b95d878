-- +goose Up
-- Accounts are found by their normalised e-mail (NFKC, case folded, format characters
-- removed), compared byte for byte. Existing addresses were stored lower-cased.
ALTER TABLE users ADD COLUMN email_norm TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at DATETIME NULL;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT 0;
UPDATE users SET email_norm = LOWER(email);
CREATE UNIQUE INDEX ux_users_email_norm ON users (email_norm);

-- Sessions end after an idle time too, counted from the last request.
ALTER TABLE sessions ADD COLUMN last_seen_at DATETIME NULL;
UPDATE sessions SET last_seen_at = created_at;

-- Tokens remember the account that created them, so disabling it revokes them.
ALTER TABLE api_tokens ADD COLUMN user_id BIGINT NULL;
UPDATE api_tokens SET user_id = (SELECT u.id FROM users u WHERE u.email = api_tokens.created_by);
CREATE INDEX ix_api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins per key (account, account and client, client), shared by every instance.
CREATE TABLE login_throttle (
  throttle_key TEXT NOT NULL PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start_ms BIGINT NOT NULL
);
CREATE INDEX ix_login_throttle_window ON login_throttle (window_start_ms);

-- +goose Down
DROP TABLE login_throttle;
DROP INDEX ix_api_tokens_user;
ALTER TABLE api_tokens DROP COLUMN user_id;
ALTER TABLE sessions DROP COLUMN last_seen_at;
DROP INDEX ux_users_email_norm;
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN email_norm;
