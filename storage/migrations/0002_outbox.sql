-- Bulk messages are written here before the first request, so a crash or restart resumes them.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    peer_id     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    keyboard    TEXT,
    attachments TEXT NOT NULL DEFAULT '',
    template    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'delivered', 'not_allowed', 'failed', 'cancelled')),
    message_id  INTEGER,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (job, peer_id, key)
);
CREATE INDEX outbox_pending ON outbox(status, id);
CREATE INDEX outbox_job ON outbox(job, status);
