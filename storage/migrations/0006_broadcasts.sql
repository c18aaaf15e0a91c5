-- Coordinator broadcasts: the draft, the audience filter, the schedule, the outbox job it became.
-- A draft is written while the coordinator composes it; «now» and «at a time» both make it
-- 'scheduled' (send_at = now for «now»), and whoever moves it to 'running' first sends it, so
-- a restart or a second scheduler tick never sends a broadcast twice.
CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    author_vk_id    INTEGER NOT NULL,
    scope_municipality_id INTEGER REFERENCES municipalities(id),  -- NULL: regional coordinator
    audience        TEXT NOT NULL DEFAULT '{}',   -- JSON filter: {"kind": ..., "value": ...}
    text            TEXT NOT NULL DEFAULT '',     -- Jinja2 template (sandboxed, StrictUndefined)
    attachments     TEXT NOT NULL DEFAULT '',     -- re-uploaded: 'photo-1_2_key,doc-1_3'
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'scheduled', 'running', 'done', 'cancelled')),
    send_at         INTEGER,
    recipients      INTEGER NOT NULL DEFAULT 0,
    status_peer_id  INTEGER,
    status_message_id INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    job             TEXT,                         -- outbox job, 'broadcast:<id>'
    started_at      INTEGER,
    finished_at     INTEGER,
    cancelled_by    INTEGER,
    delivered       INTEGER NOT NULL DEFAULT 0,   -- final report, copied from the outbox
    not_allowed     INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX broadcasts_status ON broadcasts(status, send_at);
CREATE INDEX broadcasts_scope ON broadcasts(scope_municipality_id, created_at);
