-- +goose Up
-- An edit event keeps the text the edit set, so every version of an edited message stays
-- readable: the message's raw JSON holds the original, messages.text the latest.
ALTER TABLE message_events ADD COLUMN text TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE message_events DROP COLUMN text;
