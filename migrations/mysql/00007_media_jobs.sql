-- +goose Up
-- One download job per media id of a business number: created in the transaction that stores
-- the message carrying the id, claimed with a lease like the webhook inbox. A stored file is
-- named by its SHA-256 in the media storage (identical files are kept once).
CREATE TABLE media_jobs (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  phone_number_id  VARCHAR(32)  NOT NULL,
  media_id         VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  wamid            VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind             VARCHAR(32)  NOT NULL,
  mime_type        VARCHAR(128) NOT NULL,
  expected_sha256  VARCHAR(64)  NOT NULL,
  filename         VARCHAR(255) NOT NULL,
  state            VARCHAR(16)  NOT NULL,
  attempts         INT          NOT NULL,
  next_attempt_ms  BIGINT       NOT NULL,
  lease_owner      VARCHAR(64)  NOT NULL,
  lease_until_ms   BIGINT       NOT NULL,
  error            TEXT         NOT NULL,
  sha256           CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  size             BIGINT       NOT NULL,
  stored_mime_type VARCHAR(128) NOT NULL,
  created_at       DATETIME(6)  NOT NULL,
  updated_at       DATETIME(6)  NOT NULL,
  done_at          DATETIME(6)  NULL,
  UNIQUE KEY ux_media_jobs_media (phone_number_id, media_id),
  KEY ix_media_jobs_claim (state, next_attempt_ms, id),
  KEY ix_media_jobs_sha (sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Messages stored before this version get their jobs now (one per number and media id).
INSERT INTO media_jobs (phone_number_id, media_id, wamid, kind, mime_type, expected_sha256, filename, state, attempts, next_attempt_ms, lease_owner, lease_until_ms, error, sha256, size, stored_mime_type, created_at, updated_at)
SELECT phone_number_id, media_id, MIN(wamid), MIN(type), MIN(mime_type), '', '', 'pending', 0, 0, '', 0, '', '', 0, '', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
FROM messages WHERE media_id <> '' AND deleted = FALSE GROUP BY phone_number_id, media_id;

-- +goose Down
DROP TABLE media_jobs;
