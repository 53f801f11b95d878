-- +goose Up
-- Accounts are found by their normalised e-mail (NFKC, case folded, format characters
-- removed), compared byte for byte: under utf8mb4_unicode_ci "ádmin@x.io" or
-- "admin\u200b@x.io" would find admin@x.io. Existing addresses were stored lower-cased.
ALTER TABLE users ADD COLUMN email_norm VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at DATETIME(6) NULL;
ALTER TABLE users ADD COLUMN must_change_password TINYINT(1) NOT NULL DEFAULT 0;
UPDATE users SET email_norm = LOWER(email);
CREATE UNIQUE INDEX ux_users_email_norm ON users (email_norm);

-- Sessions end after an idle time too, counted from the last request.
ALTER TABLE sessions ADD COLUMN last_seen_at DATETIME(6) NULL;
UPDATE sessions SET last_seen_at = created_at;

-- Tokens remember the account that created them, so disabling it revokes them.
ALTER TABLE api_tokens ADD COLUMN user_id BIGINT UNSIGNED NULL;
UPDATE api_tokens SET user_id = (SELECT u.id FROM users u WHERE u.email = api_tokens.created_by);
CREATE INDEX ix_api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins per key (account, account and client, client), shared by every instance.
CREATE TABLE login_throttle (
  throttle_key    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  failures        INT    NOT NULL,
  window_start_ms BIGINT NOT NULL,
  KEY ix_login_throttle_window (window_start_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE login_throttle;
DROP INDEX ix_api_tokens_user ON api_tokens;
ALTER TABLE api_tokens DROP COLUMN user_id;
ALTER TABLE sessions DROP COLUMN last_seen_at;
DROP INDEX ux_users_email_norm ON users;
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN email_norm;
