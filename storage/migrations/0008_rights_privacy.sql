-- Rights, territory and privacy (issue 15, part B).

-- A broadcast stopped because its author lost the right to send it ('rights').
ALTER TABLE broadcasts ADD COLUMN cancel_reason TEXT;

-- Questions the help could not answer: whose (erased with the person) and where (a municipal
-- coordinator sees only their municipality's). Rows from before this migration stay
-- anonymous and tied to no municipality (only the whole region sees them).
ALTER TABLE faq_misses ADD COLUMN vk_id INTEGER;
ALTER TABLE faq_misses ADD COLUMN municipality_id INTEGER REFERENCES municipalities(id);
CREATE INDEX faq_misses_person ON faq_misses(vk_id);

-- Erasure: an erased person's name is never fetched again; an erased application is neither
-- listed nor exported (its row stays for the organisation's progress and the counts).
ALTER TABLE users ADD COLUMN erased_at INTEGER;
ALTER TABLE applications ADD COLUMN erased_at INTEGER;

-- Invitation-code guessing: wrong codes per person in the current window, and until when
-- they must wait.
CREATE TABLE code_attempts (
    vk_id          INTEGER PRIMARY KEY,
    failures       INTEGER NOT NULL DEFAULT 0,
    window_start   INTEGER NOT NULL,
    blocked_until  INTEGER
);

-- Staff who confirmed their registration, waiting for the next digest to their organisation's
-- administrator (one message per period instead of one per person; survives a restart).
CREATE TABLE staff_digest (
    admin_vk_id   INTEGER NOT NULL,
    staff_vk_id   INTEGER NOT NULL,
    org_id        INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    confirmed_at  INTEGER NOT NULL,
    PRIMARY KEY (admin_vk_id, staff_vk_id)
);
CREATE TABLE admin_digests (
    admin_vk_id   INTEGER PRIMARY KEY,
    last_sent_at  INTEGER NOT NULL
);
