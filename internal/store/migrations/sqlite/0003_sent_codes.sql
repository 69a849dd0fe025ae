-- Codes sent by text message, voice call or e-mail, and the record of
-- every delivery attempt. A phone factor keeps its number sealed in
-- factors.secret and a keyed hash of it in factors.phone_hash.
ALTER TABLE factors ADD COLUMN phone_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE factors ADD COLUMN masked TEXT NOT NULL DEFAULT '';

CREATE TABLE sent_codes (
    id           TEXT PRIMARY KEY,
    factor_id    TEXT NOT NULL REFERENCES factors(id) ON DELETE CASCADE,
    code_hash    TEXT NOT NULL,
    sealed_code  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_sent_at BIGINT NOT NULL,
    last_channel TEXT NOT NULL DEFAULT '',
    sends        BIGINT NOT NULL DEFAULT 1,
    attempts     BIGINT NOT NULL DEFAULT 0,
    used_at      BIGINT
);
CREATE INDEX sent_codes_factor ON sent_codes(factor_id, expires_at);

CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL,
    provider    TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    provider_id TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX deliveries_created ON deliveries(created_at);
CREATE INDEX deliveries_provider_id ON deliveries(provider_id);
