-- +goose Up
-- A thread's message_count counts the items it lists: its messages but reactions, plus the
-- current reaction of each side to a message the archive does not hold (listed on its own;
-- a reaction to a stored message is shown on that message). reaction_items is how many of
-- message_count are such reactions, so that storing a message only looks for reactions
-- waiting for it in threads that have some. Threads with reactions are recounted by that
-- rule (they counted every reaction as a message before).
ALTER TABLE threads ADD COLUMN reaction_items INT NOT NULL DEFAULT 0;

UPDATE threads t JOIN (
  SELECT m.thread_id,
    SUM(CASE WHEN m.type <> 'reaction' THEN 1 ELSE 0 END) AS messages,
    SUM(CASE WHEN m.type = 'reaction' AND m.text <> ''
      AND NOT EXISTS (SELECT 1 FROM messages target WHERE target.phone_number_id = m.phone_number_id
        AND target.wamid = m.reaction_to AND target.type <> 'reaction')
      AND NOT EXISTS (SELECT 1 FROM messages later WHERE later.phone_number_id = m.phone_number_id
        AND later.reaction_to = m.reaction_to AND later.type = 'reaction' AND later.direction = m.direction
        AND (later.ts > m.ts OR (later.ts = m.ts AND later.wamid > m.wamid)))
      THEN 1 ELSE 0 END) AS items
  FROM messages m
  WHERE m.thread_id IN (SELECT DISTINCT thread_id FROM messages WHERE type = 'reaction')
  GROUP BY m.thread_id
) c ON c.thread_id = t.id
SET t.message_count = c.messages + c.items, t.reaction_items = c.items;

-- +goose Down
ALTER TABLE threads DROP COLUMN reaction_items;
