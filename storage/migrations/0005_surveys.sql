-- Weekly difficulty surveys. One row per person and ISO week (e.g. '2026-W48'): the last answer
-- of a week counts once. Territory and role are copied at answer time, so summaries stay right
-- after a person moves or erases their data (then vk_id becomes NULL: an anonymous count).
CREATE TABLE survey_answers (
    id               INTEGER PRIMARY KEY,
    week             TEXT NOT NULL,
    vk_id            INTEGER,
    org_id           INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
    municipality_id  INTEGER REFERENCES municipalities(id),
    role             TEXT NOT NULL,
    difficulties     TEXT NOT NULL DEFAULT '',   -- comma-separated option ids, e.g. 'login,ejd'
    other_text       TEXT,
    confidence       INTEGER CHECK (confidence BETWEEN 1 AND 5),
    messages         TEXT CHECK (messages IN ('0', '1-9', '10+')),
    comment          TEXT,
    completed        INTEGER NOT NULL DEFAULT 0,
    question         TEXT,                       -- where a half-finished survey stopped (resume)
    started_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (week, vk_id)
);
CREATE INDEX survey_answers_week ON survey_answers(week, municipality_id);

-- What the scheduler already did, so a restart never sends the same reminder or survey twice.
CREATE TABLE schedule_runs (
    job        TEXT NOT NULL,          -- 'reminders', 'survey'
    period     TEXT NOT NULL,          -- ISO week
    peer_id    INTEGER NOT NULL,
    queued_at  INTEGER NOT NULL,
    PRIMARY KEY (job, period, peer_id)
);

-- Reminders look organisations up by their admin (the person's time zone, the survey's place).
CREATE INDEX schedule_org_admin ON organisations(admin_vk_id);
