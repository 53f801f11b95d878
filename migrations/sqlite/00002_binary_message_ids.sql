-- +goose Up
-- SQLite compares text as binary already: wamids keep their case (see the MySQL migration).
SELECT 1;

-- +goose Down
SELECT 1;
