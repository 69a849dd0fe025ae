-- factors.phone_hash holds a keyed hash of any recipient a code is sent to
-- (a phone number or an e-mail address): named for what it holds.
ALTER TABLE factors RENAME COLUMN phone_hash TO recipient_hash;
