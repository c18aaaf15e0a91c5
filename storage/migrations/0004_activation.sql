-- The 8-step activation of an organisation's Sferum profile and its staff's registration.
-- Contract used by reminders, broadcasts and summaries: organisations.step (1..8; 9 = activated),
-- organisations.step_updated_at, organisations.admin_vk_id, staff.confirmed_at.

CREATE TABLE consents (
    id            INTEGER PRIMARY KEY,
    vk_id         INTEGER NOT NULL,
    version       TEXT NOT NULL,
    given_at      INTEGER NOT NULL,
    withdrawn_at  INTEGER
);
CREATE INDEX consents_person ON consents(vk_id);

ALTER TABLE organisations ADD COLUMN step INTEGER NOT NULL DEFAULT 1;
ALTER TABLE organisations ADD COLUMN step_updated_at INTEGER;
ALTER TABLE organisations ADD COLUMN admin_vk_id INTEGER;
ALTER TABLE organisations ADD COLUMN structure TEXT;            -- 'single' (class «Сотрудники») or 'full'
ALTER TABLE organisations ADD COLUMN registration_link TEXT;
ALTER TABLE organisations ADD COLUMN staff_deadline TEXT;       -- ISO date
ALTER TABLE organisations ADD COLUMN activated_at INTEGER;
CREATE INDEX organisations_step ON organisations(step, step_updated_at);

-- Step 1: the application; its status drives steps 2 and 3.
CREATE TABLE applications (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    applicant_vk_id  INTEGER NOT NULL,
    admin_full_name  TEXT NOT NULL,
    admin_phone      TEXT NOT NULL,                 -- +7XXXXXXXXXX
    admin_email      TEXT,
    status           TEXT NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'sent', 'created', 'rejected')),
    reject_reason    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX applications_status ON applications(status, created_at);

-- Staff who joined an organisation in the bot (code or ref link) and their own steps.
CREATE TABLE staff (
    vk_id          INTEGER PRIMARY KEY REFERENCES users(vk_id) ON DELETE CASCADE,
    org_id         INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    joined_at      INTEGER NOT NULL,
    confirmed_at   INTEGER,          -- «Я зарегистрировался» in Sferum
    app_at         INTEGER,          -- installed VK Messenger / opened web.vk.me
    chat_at        INTEGER           -- joined the staff chat
);
CREATE INDEX staff_org ON staff(org_id, confirmed_at);

-- The application form while it is being filled (step 1), so a person can leave and come back;
-- it holds personal data until submitted and is erased with the person's data.
CREATE TABLE application_drafts (
    vk_id       INTEGER PRIMARY KEY,
    data        TEXT NOT NULL DEFAULT '{}',    -- JSON: field -> value, "field" = the one asked now
    updated_at  INTEGER NOT NULL
);
