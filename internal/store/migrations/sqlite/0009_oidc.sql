-- OpenID Connect: the apps people sign in to through twostep, their
-- authorization requests, the tokens issued to them, the keys ID tokens
-- are signed with, and the consent each person gave each app.

CREATE TABLE oidc_clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               TEXT NOT NULL DEFAULT '',   -- '' for a public client
    redirect_uris             TEXT NOT NULL,              -- one per line
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '',   -- one per line
    first_party               INTEGER NOT NULL DEFAULT 0,
    id_token_alg              TEXT NOT NULL DEFAULT 'RS256', -- or ES256
    created_at                BIGINT NOT NULL
);

CREATE TABLE oidc_auth_requests (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    request      TEXT NOT NULL,                -- the validated request, as JSON
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    session_id   TEXT NOT NULL DEFAULT '',
    auth_time    BIGINT NOT NULL DEFAULT 0,
    amr          TEXT NOT NULL DEFAULT '',
    acr          TEXT NOT NULL DEFAULT '',
    done         INTEGER NOT NULL DEFAULT 0,
    code_hash    TEXT UNIQUE,                  -- SHA-256 of the code, once issued
    code_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- Access and refresh tokens. An access token is known by its id (the
-- token handed out is the id, encrypted); a refresh token by the SHA-256
-- of its value. Refresh tokens of one sign-in share a family: reusing a
-- rotated one revokes the family.
CREATE TABLE oidc_tokens (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,             -- 'access' or 'refresh'
    token_hash      TEXT UNIQUE,               -- refresh tokens only
    family_id       TEXT NOT NULL,
    auth_request_id TEXT NOT NULL DEFAULT '',
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    scopes          TEXT NOT NULL DEFAULT '',  -- space-separated
    audience        TEXT NOT NULL DEFAULT '',  -- space-separated
    amr             TEXT NOT NULL DEFAULT '',
    acr             TEXT NOT NULL DEFAULT '',
    auth_time       BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT NOT NULL DEFAULT 0, -- a refresh token, when rotated
    revoked_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_tokens_user ON oidc_tokens (user_id, client_id);
CREATE INDEX oidc_tokens_family ON oidc_tokens (family_id);
CREATE INDEX oidc_tokens_auth_request ON oidc_tokens (auth_request_id);
CREATE INDEX oidc_tokens_expires ON oidc_tokens (expires_at);

-- Keys ID tokens are signed with, sealed under secrets.key. A retired key
-- stays published until the tokens it signed have expired.
CREATE TABLE oidc_signing_keys (
    id         TEXT PRIMARY KEY,               -- the JWK kid
    alg        TEXT NOT NULL,                  -- RS256 or ES256
    sealed     TEXT NOT NULL,                  -- the private key, PKCS #8, sealed
    created_at BIGINT NOT NULL,
    retired_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE oidc_consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,                  -- space-separated
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
