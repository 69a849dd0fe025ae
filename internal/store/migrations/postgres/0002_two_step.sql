-- Two-step verification: factors, recovery codes, pending sign-ins,
-- remembered devices, and step-up times on sessions.
ALTER TABLE users ADD COLUMN default_factor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN stepup_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN stepup_kind TEXT NOT NULL DEFAULT '';

CREATE TABLE factors (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    label        TEXT NOT NULL,
    role         TEXT NOT NULL,
    status       TEXT NOT NULL,
    secret       TEXT NOT NULL DEFAULT '',
    last_step    BIGINT NOT NULL DEFAULT 0,
    drift_steps  BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_used_at BIGINT,
    expires_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX factors_user ON factors(user_id, status);

CREATE TABLE recovery_codes (
    factor_id TEXT NOT NULL REFERENCES factors(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (factor_id, code_hash)
);

CREATE TABLE pending_signins (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures   BIGINT NOT NULL DEFAULT 0,
    done_at    BIGINT,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    label          TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    last_ip        TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    max_expires_at BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices(user_id);

-- Server-wide secrets (the recovery-code pepper), sealed under the key.
CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    sealed TEXT NOT NULL
);
