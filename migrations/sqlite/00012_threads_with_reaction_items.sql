-- +goose Up
-- Storing a message looks for reactions waiting for it only when the number has a thread
-- that lists reactions of its own; this index answers that at once.
CREATE INDEX ix_threads_reaction_items ON threads (phone_number_id, reaction_items);

-- +goose Down
DROP INDEX ix_threads_reaction_items;
