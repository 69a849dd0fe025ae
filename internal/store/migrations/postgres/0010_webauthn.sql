-- Security keys and passkeys (WebAuthn): the credential behind each
-- webauthn factor, and the ceremonies begun but not yet finished. Byte
-- strings (credential ids, public keys, AAGUIDs) are stored base64url.
-- A factor's amr is what a success with it proves when that is fixed at
-- confirmation (a key: hwk, or swk for a synced passkey); a pending
-- sign-in's first_amr is how its first step was passed ('' for the
-- password).
ALTER TABLE factors ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_signins ADD COLUMN first_amr TEXT NOT NULL DEFAULT '';

CREATE TABLE webauthn_credentials (
    factor_id        TEXT PRIMARY KEY REFERENCES factors(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id    TEXT NOT NULL UNIQUE,      -- unique across accounts
    public_key       TEXT NOT NULL,             -- COSE key
    sign_count       BIGINT NOT NULL DEFAULT 0,
    user_present     INTEGER NOT NULL DEFAULT 0,
    user_verified    INTEGER NOT NULL DEFAULT 0,
    backup_eligible  INTEGER NOT NULL DEFAULT 0,
    backup_state     INTEGER NOT NULL DEFAULT 0,
    discoverable     INTEGER NOT NULL DEFAULT 0, -- a passkey
    transports       TEXT NOT NULL DEFAULT '',  -- comma-separated
    aaguid           TEXT NOT NULL DEFAULT '',
    attestation_type TEXT NOT NULL DEFAULT '',
    attachment       TEXT NOT NULL DEFAULT '',
    clone_suspected  INTEGER NOT NULL DEFAULT 0, -- refused until re-added
    created_at       BIGINT NOT NULL
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- A ceremony is found by the hash of its challenge, which the client's
-- signed clientDataJSON carries, and used once: only by the owner it was
-- begun for (a pending sign-in, a session, a signed-out browser).
CREATE TABLE webauthn_ceremonies (
    id             TEXT PRIMARY KEY,
    challenge_hash TEXT NOT NULL UNIQUE,
    purpose        TEXT NOT NULL,               -- register, signin, stepup, passkey
    owner          TEXT NOT NULL,
    user_id        TEXT NOT NULL DEFAULT '',
    factor_id      TEXT NOT NULL DEFAULT '',
    session_data   TEXT NOT NULL,               -- the library's SessionData, as JSON
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);
