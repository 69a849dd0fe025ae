-- sessions.amr lists what the sign-in used (RFC 8176 values, space-separated).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
