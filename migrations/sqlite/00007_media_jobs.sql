-- +goose Up
-- One download job per media id of a business number: created in the transaction that stores
-- the message carrying the id, claimed with a lease like the webhook inbox. A stored file is
-- named by its SHA-256 in the media storage (identical files are kept once).
CREATE TABLE media_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_number_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  wamid TEXT NOT NULL,
  kind TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  expected_sha256 TEXT NOT NULL,
  filename TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_until_ms BIGINT NOT NULL,
  error TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  stored_mime_type TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  done_at DATETIME NULL
);
CREATE UNIQUE INDEX ux_media_jobs_media ON media_jobs (phone_number_id, media_id);
CREATE INDEX ix_media_jobs_claim ON media_jobs (state, next_attempt_ms, id);
CREATE INDEX ix_media_jobs_sha ON media_jobs (sha256);

-- Messages stored before this version get their jobs now (one per number and media id).
INSERT INTO media_jobs (phone_number_id, media_id, wamid, kind, mime_type, expected_sha256, filename, state, attempts, next_attempt_ms, lease_owner, lease_until_ms, error, sha256, size, stored_mime_type, created_at, updated_at)
SELECT phone_number_id, media_id, MIN(wamid), MIN(type), MIN(mime_type), '', '', 'pending', 0, 0, '', 0, '', '', 0, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM messages WHERE media_id <> '' AND deleted = 0 GROUP BY phone_number_id, media_id;

-- +goose Down
DROP TABLE media_jobs;
