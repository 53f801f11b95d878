-- +goose Up
-- Newest messages of one business number: the search page's number filter, its recent window
-- and filter-only listings walk this index instead of every number's messages.
CREATE INDEX ix_messages_number_ts ON messages (phone_number_id, ts, id);

-- +goose Down
DROP INDEX ix_messages_number_ts;
