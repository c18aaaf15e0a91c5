-- Coordinator broadcasts: the draft, the audience filter, the schedule, the outbox job it became.
CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    author_vk_id    INTEGER NOT NULL,
    scope_municipality_id INTEGER REFERENCES municipalities(id),  -- NULL: regional coordinator
    audience        TEXT NOT NULL DEFAULT '{}',   -- JSON filter
    text            TEXT NOT NULL DEFAULT '',
    attachments     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'scheduled', 'running', 'done', 'cancelled')),
    send_at         INTEGER,
    recipients      INTEGER NOT NULL DEFAULT 0,
    status_peer_id  INTEGER,
    status_message_id INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX broadcasts_status ON broadcasts(status, send_at);
