-- Recovery with a waiting period, for someone who lost every second
-- method (POST /api/v1/signin/recover): a link e-mailed to the account's
-- address (confirm_hash) starts the wait; ready_at is when the browser
-- that confirmed it (browser_hash) may finish it with the password.
-- cancel_hash and remind_hash are the cancel links of the notices sent
-- at the start and halfway (only hashes are kept, so each has its own).
-- open_user is the user's id while the recovery is open and NULL once it
-- ended, so an account has at most one open recovery (NULLs never
-- collide). remind_at is when the halfway reminder is due, NULL once it
-- was claimed or the recovery ended: a sender claims it with a
-- conditional UPDATE, so of several instances exactly one sends it.
CREATE TABLE recovery_waits (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    open_user     TEXT UNIQUE,
    confirm_hash  TEXT NOT NULL UNIQUE,
    confirm_by    BIGINT NOT NULL,
    cancel_hash   TEXT UNIQUE,
    remind_hash   TEXT UNIQUE,
    requested_at  BIGINT NOT NULL,
    confirmed_at  BIGINT,
    ready_at      BIGINT,
    remind_at     BIGINT,
    reminded_at   BIGINT,
    browser_hash  TEXT NOT NULL DEFAULT '',
    ended_at      BIGINT,
    outcome       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recovery_waits_user ON recovery_waits (user_id);
CREATE INDEX recovery_waits_remind ON recovery_waits (remind_at);

-- Set while the account may have an open recovery, read with the user:
-- a sign-in looks for one only when it is set.
ALTER TABLE users ADD COLUMN recovery_open_at BIGINT;
