-- +goose Up
CREATE TABLE users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email         VARCHAR(255) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  role          VARCHAR(16)  NOT NULL,
  created_at    DATETIME(6)  NOT NULL,
  last_login_at DATETIME(6)  NULL,
  UNIQUE KEY ux_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sessions (
  id           CHAR(64)        NOT NULL PRIMARY KEY,
  user_id      BIGINT UNSIGNED NOT NULL,
  csrf_token   CHAR(64)        NOT NULL,
  created_at   DATETIME(6)     NOT NULL,
  expires_at   DATETIME(6)     NOT NULL,
  KEY ix_sessions_user (user_id),
  KEY ix_sessions_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE api_tokens (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name         VARCHAR(120) NOT NULL,
  role         VARCHAR(16)  NOT NULL,
  token_hash   CHAR(64)     NOT NULL,
  created_by   VARCHAR(255) NOT NULL,
  created_at   DATETIME(6)  NOT NULL,
  last_used_at DATETIME(6)  NULL,
  UNIQUE KEY ux_api_tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at         DATETIME(6)  NOT NULL,
  actor      VARCHAR(255) NOT NULL,
  action     VARCHAR(64)  NOT NULL,
  target     VARCHAR(255) NOT NULL,
  detail     TEXT         NOT NULL,
  remote_ip  VARCHAR(64)  NOT NULL,
  KEY ix_audit_log_at (at),
  KEY ix_audit_log_action (action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE business_numbers (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  label                VARCHAR(120) NOT NULL,
  display_phone_number VARCHAR(32)  NOT NULL,
  phone_number_id      VARCHAR(32)  NOT NULL,
  waba_id              VARCHAR(32)  NOT NULL,
  provider             VARCHAR(16)  NOT NULL,
  provider_number_id   VARCHAR(64)  NOT NULL,
  access_token_enc     BLOB         NOT NULL,
  onboarded_at         DATETIME(6)  NULL,
  account_state        VARCHAR(32)  NOT NULL,
  created_at           DATETIME(6)  NOT NULL,
  updated_at           DATETIME(6)  NOT NULL,
  UNIQUE KEY ux_business_numbers_pnid (phone_number_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sync_runs (
  phone_number_id      VARCHAR(32)  NOT NULL PRIMARY KEY,
  state                VARCHAR(16)  NOT NULL,
  progress             INT          NOT NULL,
  contacts_request_id  VARCHAR(128) NOT NULL,
  history_request_id   VARCHAR(128) NOT NULL,
  requested_at         DATETIME(6)  NULL,
  first_chunk_at       DATETIME(6)  NULL,
  last_chunk_at        DATETIME(6)  NULL,
  completed_at         DATETIME(6)  NULL,
  error_code           INT          NOT NULL,
  error_message        VARCHAR(1000) NOT NULL,
  updated_at           DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE webhook_inbox (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  body_sha256     CHAR(64)     NOT NULL,
  source          VARCHAR(16)  NOT NULL,
  body            MEDIUMBLOB   NOT NULL,
  size            INT          NOT NULL,
  received_at     DATETIME(6)  NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  field           VARCHAR(64)  NOT NULL,
  phone_number_id VARCHAR(32)  NOT NULL,
  attempts        INT          NOT NULL,
  lease_owner     VARCHAR(64)  NOT NULL,
  lease_until_ms  BIGINT       NOT NULL,
  error           TEXT         NOT NULL,
  processed_at    DATETIME(6)  NULL,
  UNIQUE KEY ux_webhook_inbox_sha (body_sha256),
  KEY ix_webhook_inbox_state (state, lease_until_ms, id),
  KEY ix_webhook_inbox_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE history_chunks (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id VARCHAR(32) NOT NULL,
  phase           INT         NOT NULL,
  chunk_order     INT         NOT NULL,
  progress        INT         NOT NULL,
  thread_count    INT         NOT NULL,
  message_count   INT         NOT NULL,
  inbox_id        BIGINT UNSIGNED NOT NULL,
  received_at     DATETIME(6) NOT NULL,
  UNIQUE KEY ux_history_chunks (phone_number_id, phase, chunk_order)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE contacts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id VARCHAR(32)  NOT NULL,
  wa_id           VARCHAR(32)  NOT NULL,
  full_name       VARCHAR(255) NOT NULL,
  first_name      VARCHAR(255) NOT NULL,
  removed         BOOLEAN      NOT NULL,
  changed_at      BIGINT       NOT NULL,
  UNIQUE KEY ux_contacts (phone_number_id, wa_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE threads (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id  VARCHAR(32)  NOT NULL,
  contact_wa_id    VARCHAR(32)  NOT NULL,
  contact_name     VARCHAR(255) NOT NULL,
  message_count    INT          NOT NULL,
  first_message_at BIGINT       NOT NULL,
  last_message_at  BIGINT       NOT NULL,
  UNIQUE KEY ux_threads (phone_number_id, contact_wa_id),
  KEY ix_threads_recent (phone_number_id, last_message_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE messages (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id VARCHAR(32)  NOT NULL,
  wamid           VARCHAR(191) NOT NULL,
  thread_id       BIGINT UNSIGNED NOT NULL,
  contact_wa_id   VARCHAR(32)  NOT NULL,
  direction       VARCHAR(8)   NOT NULL,
  type            VARCHAR(32)  NOT NULL,
  text            MEDIUMTEXT   NOT NULL,
  ts              BIGINT       NOT NULL,
  status          VARCHAR(16)  NOT NULL,
  origin          VARCHAR(8)   NOT NULL,
  edited          BOOLEAN      NOT NULL,
  deleted         BOOLEAN      NOT NULL,
  media_id        VARCHAR(64)  NOT NULL,
  mime_type       VARCHAR(128) NOT NULL,
  reaction_to     VARCHAR(191) NOT NULL,
  phase           INT          NOT NULL,
  chunk_order     INT          NOT NULL,
  position        INT          NOT NULL,
  raw             MEDIUMTEXT   NOT NULL,
  created_at      DATETIME(6)  NOT NULL,
  updated_at      DATETIME(6)  NOT NULL,
  UNIQUE KEY ux_messages_wamid (phone_number_id, wamid),
  KEY ix_messages_thread_order (thread_id, ts, wamid),
  KEY ix_messages_ts (ts, id),
  KEY ix_messages_reaction (phone_number_id, reaction_to),
  FULLTEXT KEY ft_messages_text (text)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE message_events (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id      VARCHAR(32)   NOT NULL,
  wamid                VARCHAR(191)  NOT NULL,
  source               VARCHAR(16)   NOT NULL,
  event_key            VARCHAR(128)  NOT NULL,
  delivery_status      VARCHAR(32)   NOT NULL,
  occurrence_ts        BIGINT        NOT NULL,
  status_ts            BIGINT        NOT NULL,
  application_id       VARCHAR(64)   NOT NULL,
  application_name     VARCHAR(255)  NOT NULL,
  error_description    VARCHAR(1000) NOT NULL,
  webhook_update_state VARCHAR(32)   NOT NULL,
  webhook_uri          VARCHAR(1000) NOT NULL,
  created_at           DATETIME(6)   NOT NULL,
  UNIQUE KEY ux_message_events (phone_number_id, wamid, source, event_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE message_event_fetches (
  phone_number_id VARCHAR(32)   NOT NULL,
  wamid           VARCHAR(191)  NOT NULL,
  fetched_at      DATETIME(6)   NOT NULL,
  error_code      INT           NOT NULL,
  error_message   VARCHAR(1000) NOT NULL,
  PRIMARY KEY (phone_number_id, wamid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
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
