-- Outgoing mail (verification and reset links, security notifications):
-- written in the same transaction as the change that causes it, and sent
-- by a loop that survives restarts. subject, body and code are sealed
-- together under the key (context "mail:" || id): bodies hold links with
-- tokens. A row is claimable while sent_at and failed_at are NULL and
-- due_at has passed; claiming pushes due_at forward (the lease), so a
-- sender that dies mid-send gives the row back when the lease runs out.
CREATE TABLE mail_queue (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at     BIGINT NOT NULL,
    claim      TEXT NOT NULL DEFAULT '',
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at    BIGINT,
    failed_at  BIGINT
);
CREATE INDEX mail_queue_due ON mail_queue(due_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_queue_created ON mail_queue(created_at);
