-- +goose Up
-- wamids are base64: case matters. A case-insensitive collation would merge two ids that
-- differ only in case, and sort equal-time messages differently from SQLite (binary).
ALTER TABLE messages
  MODIFY wamid VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  MODIFY reaction_to VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
ALTER TABLE message_events
  MODIFY wamid VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  MODIFY event_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
ALTER TABLE message_event_fetches
  MODIFY wamid VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
ALTER TABLE webhook_inbox
  MODIFY body_sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

-- +goose Down
ALTER TABLE webhook_inbox
  MODIFY body_sha256 CHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
ALTER TABLE message_event_fetches
  MODIFY wamid VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
ALTER TABLE message_events
  MODIFY wamid VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  MODIFY event_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
ALTER TABLE messages
  MODIFY wamid VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  MODIFY reaction_to VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
