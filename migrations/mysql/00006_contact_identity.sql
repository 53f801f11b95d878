-- +goose Up
-- A contact is known by its phone number, its business-scoped user id (BSUID), or both.
-- Threads keep both identifiers and the username; contact_aliases maps every identifier
-- seen ("p:" + phone number, "u:" + BSUID) to the key of the contact's thread
-- (threads.contact_wa_id: the phone number, or "u:" + a digest of the BSUID while no phone
-- number is known), so that one person has one conversation per business number.
ALTER TABLE threads
  ADD COLUMN contact_user_id VARCHAR(256) NOT NULL DEFAULT '',
  ADD COLUMN contact_username VARCHAR(128) NOT NULL DEFAULT '';

CREATE TABLE contact_aliases (
  phone_number_id VARCHAR(32)  NOT NULL,
  alias           VARCHAR(260) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  contact_key     VARCHAR(32)  NOT NULL,
  PRIMARY KEY (phone_number_id, alias),
  KEY ix_contact_aliases_key (phone_number_id, contact_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE contact_aliases;
ALTER TABLE threads DROP COLUMN contact_username, DROP COLUMN contact_user_id;
