-- +goose Up
-- A contact is known by its phone number, its business-scoped user id (BSUID), or both.
-- Threads keep both identifiers and the username; contact_aliases maps every identifier
-- seen ("p:" + phone number, "u:" + BSUID) to the key of the contact's thread
-- (threads.contact_wa_id: the phone number, or "u:" + a digest of the BSUID while no phone
-- number is known), so that one person has one conversation per business number.
ALTER TABLE threads ADD COLUMN contact_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE threads ADD COLUMN contact_username TEXT NOT NULL DEFAULT '';

CREATE TABLE contact_aliases (
  phone_number_id TEXT NOT NULL,
  alias TEXT NOT NULL,
  contact_key TEXT NOT NULL,
  PRIMARY KEY (phone_number_id, alias)
);
CREATE INDEX ix_contact_aliases_key ON contact_aliases (phone_number_id, contact_key);

-- +goose Down
DROP TABLE contact_aliases;
ALTER TABLE threads DROP COLUMN contact_username;
ALTER TABLE threads DROP COLUMN contact_user_id;
