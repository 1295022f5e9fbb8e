-- Channels a fanned-out outbox message already reached (an email to one
-- person, one webhook). A message is one outbox row however many channels
-- it goes to, so a retry after a partial failure consults this table to
-- send only to the channels that failed. Operational, like the outbox: not
-- replayed by verify.
CREATE TABLE outbox_channels (
    message_id BIGINT NOT NULL REFERENCES outbox (id),
    channel    TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (message_id, channel)
);
