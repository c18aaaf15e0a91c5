-- Questions passed to coordinators (from the FAQ fallback or «Не получается» in a step),
-- and questions the FAQ could not answer, for coordinators to write new entries.
CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    vk_id           INTEGER NOT NULL,
    source          TEXT NOT NULL,              -- 'faq' or 'activation:step4' etc.
    question        TEXT NOT NULL,
    municipality_id INTEGER REFERENCES municipalities(id),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    answer          TEXT,
    answered_by     INTEGER,
    created_at      INTEGER NOT NULL,
    answered_at     INTEGER
);
CREATE INDEX tickets_open ON tickets(status, created_at);

CREATE TABLE faq_misses (
    id          INTEGER PRIMARY KEY,
    question    TEXT NOT NULL,
    normalized  TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX faq_misses_normalized ON faq_misses(normalized);
