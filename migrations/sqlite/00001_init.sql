-- +goose Up
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  last_login_at DATETIME NULL
);
CREATE UNIQUE INDEX ux_users_email ON users (email);

CREATE TABLE sessions (
  id TEXT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  csrf_token TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  expires_at DATETIME NOT NULL
);
CREATE INDEX ix_sessions_user ON sessions (user_id);
CREATE INDEX ix_sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  last_used_at DATETIME NULL
);
CREATE UNIQUE INDEX ux_api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at DATETIME NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL,
  remote_ip TEXT NOT NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_action ON audit_log (action);

CREATE TABLE business_numbers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL,
  display_phone_number TEXT NOT NULL,
  phone_number_id TEXT NOT NULL,
  waba_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_number_id TEXT NOT NULL,
  access_token_enc BLOB NOT NULL,
  onboarded_at DATETIME NULL,
  account_state TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX ux_business_numbers_pnid ON business_numbers (phone_number_id);

CREATE TABLE sync_runs (
  phone_number_id TEXT NOT NULL PRIMARY KEY,
  state TEXT NOT NULL,
  progress INT NOT NULL,
  contacts_request_id TEXT NOT NULL,
  history_request_id TEXT NOT NULL,
  requested_at DATETIME NULL,
  first_chunk_at DATETIME NULL,
  last_chunk_at DATETIME NULL,
  completed_at DATETIME NULL,
  error_code INT NOT NULL,
  error_message TEXT NOT NULL,
  updated_at DATETIME NOT NULL
);

CREATE TABLE webhook_inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body_sha256 TEXT NOT NULL,
  source TEXT NOT NULL,
  body BLOB NOT NULL,
  size INT NOT NULL,
  received_at DATETIME NOT NULL,
  state TEXT NOT NULL,
  field TEXT NOT NULL,
  phone_number_id TEXT NOT NULL,
  attempts INT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_until_ms BIGINT NOT NULL,
  error TEXT NOT NULL,
  processed_at DATETIME NULL
);
CREATE UNIQUE INDEX ux_webhook_inbox_sha ON webhook_inbox (body_sha256);
CREATE INDEX ix_webhook_inbox_state ON webhook_inbox (state, lease_until_ms, id);
CREATE INDEX ix_webhook_inbox_received ON webhook_inbox (received_at);

CREATE TABLE history_chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL,
  phase INT NOT NULL,
  chunk_order INT NOT NULL,
  progress INT NOT NULL,
  thread_count INT NOT NULL,
  message_count INT NOT NULL,
  inbox_id BIGINT NOT NULL,
  received_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX ux_history_chunks ON history_chunks (phone_number_id, phase, chunk_order);

CREATE TABLE contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL,
  wa_id TEXT NOT NULL,
  full_name TEXT NOT NULL,
  first_name TEXT NOT NULL,
  removed BOOLEAN NOT NULL,
  changed_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_contacts ON contacts (phone_number_id, wa_id);

CREATE TABLE threads (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL,
  contact_wa_id TEXT NOT NULL,
  contact_name TEXT NOT NULL,
  message_count INT NOT NULL,
  first_message_at BIGINT NOT NULL,
  last_message_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_threads ON threads (phone_number_id, contact_wa_id);
CREATE INDEX ix_threads_recent ON threads (phone_number_id, last_message_at, id);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL,
  wamid TEXT NOT NULL,
  thread_id BIGINT NOT NULL,
  contact_wa_id TEXT NOT NULL,
  direction TEXT NOT NULL,
  type TEXT NOT NULL,
  text TEXT NOT NULL,
  ts BIGINT NOT NULL,
  status TEXT NOT NULL,
  origin TEXT NOT NULL,
  edited BOOLEAN NOT NULL,
  deleted BOOLEAN NOT NULL,
  media_id TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  reaction_to TEXT NOT NULL,
  phase INT NOT NULL,
  chunk_order INT NOT NULL,
  position INT NOT NULL,
  raw TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX ux_messages_wamid ON messages (phone_number_id, wamid);
CREATE INDEX ix_messages_thread_order ON messages (thread_id, ts, wamid);
CREATE INDEX ix_messages_ts ON messages (ts, id);
CREATE INDEX ix_messages_reaction ON messages (phone_number_id, reaction_to);

CREATE TABLE message_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL,
  wamid TEXT NOT NULL,
  source TEXT NOT NULL,
  event_key TEXT NOT NULL,
  delivery_status TEXT NOT NULL,
  occurrence_ts BIGINT NOT NULL,
  status_ts BIGINT NOT NULL,
  application_id TEXT NOT NULL,
  application_name TEXT NOT NULL,
  error_description TEXT NOT NULL,
  webhook_update_state TEXT NOT NULL,
  webhook_uri TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX ux_message_events ON message_events (phone_number_id, wamid, source, event_key);

CREATE TABLE message_event_fetches (
  phone_number_id TEXT NOT NULL,
  wamid TEXT NOT NULL,
  fetched_at DATETIME NOT NULL,
  error_code INT NOT NULL,
  error_message TEXT NOT NULL,
  PRIMARY KEY (phone_number_id, wamid)
);

-- Full-text index over message text (external content, kept in step by triggers).
CREATE VIRTUAL TABLE messages_fts USING fts5(
  text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);

-- +goose StatementBegin
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_fts_au;
DROP TRIGGER messages_fts_ad;
DROP TRIGGER messages_fts_ai;
DROP TABLE messages_fts;
DROP TABLE message_event_fetches;
DROP TABLE message_events;
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE contacts;
DROP TABLE history_chunks;
DROP TABLE webhook_inbox;
DROP TABLE sync_runs;
DROP TABLE business_numbers;
DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
