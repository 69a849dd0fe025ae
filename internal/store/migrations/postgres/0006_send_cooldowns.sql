-- The resend cooldown of each factor and channel, in its own row, so one
-- conditional upsert claims it: of concurrent sends (on any instance) only
-- one gets through. Carried over from the newest code sent each way.
CREATE TABLE send_cooldowns (
    factor_id    TEXT NOT NULL REFERENCES factors(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    last_sent_at BIGINT NOT NULL,
    PRIMARY KEY (factor_id, channel)
);
INSERT INTO send_cooldowns (factor_id, channel, last_sent_at)
    SELECT factor_id, last_channel, MAX(last_sent_at) FROM sent_codes
    WHERE last_channel <> '' GROUP BY factor_id, last_channel;
