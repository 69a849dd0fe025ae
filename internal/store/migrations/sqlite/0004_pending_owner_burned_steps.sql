-- A pending factor belongs to the session that added it (no other session
-- may read its key or confirm it), and authenticator-app time steps that a
-- code matched outside the accepted window are burned: never accepted.
ALTER TABLE factors ADD COLUMN session_id TEXT NOT NULL DEFAULT '';

CREATE TABLE totp_burned_steps (
    factor_id  TEXT NOT NULL REFERENCES factors(id) ON DELETE CASCADE,
    step       BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (factor_id, step)
);
CREATE INDEX totp_burned_steps_expiry ON totp_burned_steps(expires_at);
