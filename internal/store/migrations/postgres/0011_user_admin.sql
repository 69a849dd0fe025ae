-- Operators' holds on an account (twostep users disable / force-password-
-- reset): disabled_at refuses every sign-in; password_reset_required_at
-- refuses the password until one is set after it (password_changed_at
-- later than it), so a reset satisfies it without clearing anything.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_reset_required_at BIGINT;

-- Long operator runs over every account (force-password-reset --all),
-- resumable: cursor is the last user id done, committed with each batch.
CREATE TABLE admin_jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    operator    TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    cursor      TEXT NOT NULL DEFAULT '',
    done        BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT
);

-- When a policy was first enforced (two_step.required): its grace period
-- counts from here for accounts older than it.
CREATE TABLE policy_marks (
    name  TEXT PRIMARY KEY,
    since BIGINT NOT NULL
);
