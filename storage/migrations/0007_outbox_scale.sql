-- Regional scale: a bulk job is one row in outbox_jobs (with its counters, kept after its
-- recipient rows are pruned), its texts once each in outbox_texts (one text to 300 000 people is
-- stored once), and one small row per recipient in outbox (job, person, part, text, status).
CREATE TABLE outbox_jobs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,         -- 'broadcast:17', 'survey:2026-W48', ...
    complete    INTEGER NOT NULL DEFAULT 0,   -- 1 once the producer queued its whole audience
    total       INTEGER NOT NULL DEFAULT 0,
    pending     INTEGER NOT NULL DEFAULT 0,
    delivered   INTEGER NOT NULL DEFAULT 0,
    not_allowed INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    cancelled   INTEGER NOT NULL DEFAULT 0,
    pruned      INTEGER NOT NULL DEFAULT 0,   -- recipient rows deleted by retention
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX outbox_jobs_age ON outbox_jobs(updated_at);

CREATE TABLE outbox_texts (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES outbox_jobs(id) ON DELETE CASCADE,
    digest      INTEGER,                      -- of everything below: the same text is stored once
    key         TEXT NOT NULL,                -- the message's identity (random_id); part n has '#n'
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    keyboard    TEXT,
    attachments TEXT NOT NULL DEFAULT '',
    template    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX outbox_texts_digest ON outbox_texts(job_id, digest);

INSERT INTO outbox_jobs (name, complete, total, pending, delivered, not_allowed, failed,
                         cancelled, created_at, updated_at)
SELECT job, 1, COUNT(*), SUM(status = 'pending'), SUM(status = 'delivered'),
       SUM(status = 'not_allowed'), SUM(status = 'failed'), SUM(status = 'cancelled'),
       MIN(created_at), MAX(updated_at)
FROM outbox GROUP BY job;

INSERT INTO outbox_texts (job_id, key, kind, text, keyboard, attachments, template)
SELECT DISTINCT j.id, o.key, o.kind, o.text, o.keyboard, o.attachments, o.template
FROM outbox o JOIN outbox_jobs j ON j.name = o.job;

CREATE TABLE outbox_recipients (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL,
    peer_id     INTEGER NOT NULL,
    part        INTEGER NOT NULL DEFAULT 0,   -- a text over 4096 characters goes in parts
    text_id     INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'delivered', 'not_allowed', 'failed', 'cancelled')),
    error       TEXT,
    updated_at  INTEGER NOT NULL,
    UNIQUE (job_id, peer_id, part)
);

INSERT INTO outbox_recipients (id, job_id, peer_id, part, text_id, status, error, updated_at)
SELECT o.id, j.id, o.peer_id,
       CASE WHEN instr(o.key, '#') > 0 THEN CAST(substr(o.key, instr(o.key, '#') + 1) AS INTEGER)
            ELSE 0 END,
       (SELECT t.id FROM outbox_texts t WHERE t.job_id = j.id AND t.text = o.text
          AND t.kind = o.kind AND t.keyboard IS o.keyboard AND t.attachments = o.attachments
          AND t.template = o.template AND t.key = o.key
        ORDER BY t.id LIMIT 1),
       o.status, o.error, o.updated_at
FROM outbox o JOIN outbox_jobs j ON j.name = o.job;

DROP TABLE outbox;
ALTER TABLE outbox_recipients RENAME TO outbox;
-- Only pending rows are ever scanned by the sender: a partial index stays small.
CREATE INDEX outbox_pending ON outbox(id) WHERE status = 'pending';
-- Erasing a person cancels what still waits for them.
CREATE INDEX outbox_peer ON outbox(peer_id) WHERE status = 'pending';
