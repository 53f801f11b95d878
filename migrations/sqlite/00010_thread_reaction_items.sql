-- +goose Up
-- A thread's message_count counts the items it lists: its messages but reactions, plus the
-- current reaction of each side to a message the archive does not hold (listed on its own;
-- a reaction to a stored message is shown on that message). reaction_items is how many of
-- message_count are such reactions, so that storing a message only looks for reactions
-- waiting for it in threads that have some. Threads with reactions are recounted by that
-- rule (they counted every reaction as a message before).
ALTER TABLE threads ADD COLUMN reaction_items INTEGER NOT NULL DEFAULT 0;

UPDATE threads SET reaction_items = (
  SELECT COUNT(*) FROM messages m WHERE m.thread_id = threads.id AND m.type = 'reaction' AND m.text <> ''
    AND NOT EXISTS (SELECT 1 FROM messages target WHERE target.phone_number_id = m.phone_number_id
      AND target.wamid = m.reaction_to AND target.type <> 'reaction')
    AND NOT EXISTS (SELECT 1 FROM messages later WHERE later.phone_number_id = m.phone_number_id
      AND later.reaction_to = m.reaction_to AND later.type = 'reaction' AND later.direction = m.direction
      AND (later.ts > m.ts OR (later.ts = m.ts AND later.wamid > m.wamid))))
WHERE id IN (SELECT DISTINCT thread_id FROM messages WHERE type = 'reaction');

UPDATE threads SET message_count = reaction_items +
  (SELECT COUNT(*) FROM messages m WHERE m.thread_id = threads.id AND m.type <> 'reaction')
WHERE id IN (SELECT DISTINCT thread_id FROM messages WHERE type = 'reaction');

-- +goose Down
ALTER TABLE threads DROP COLUMN reaction_items;
