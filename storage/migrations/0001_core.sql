-- People, territory, organisations; times are unix seconds (UTC).
CREATE TABLE municipalities (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    timezone  TEXT
);

CREATE TABLE organisations (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('school', 'college', 'extra', 'preschool', 'office', 'method')),
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    invite_code     TEXT UNIQUE,
    created_at      INTEGER NOT NULL
);

CREATE TABLE users (
    vk_id            INTEGER PRIMARY KEY,
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    role             TEXT CHECK (role IN ('org_admin', 'staff', 'parent', 'coordinator')),
    state            TEXT NOT NULL DEFAULT '',
    state_data       TEXT NOT NULL DEFAULT '{}',
    org_id           INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
    ref              TEXT,
    ref_source       TEXT,
    reminders_on     INTEGER NOT NULL DEFAULT 1,
    broadcasts_on    INTEGER NOT NULL DEFAULT 1,
    newsletter_ok    INTEGER NOT NULL DEFAULT 0,
    reachable        INTEGER NOT NULL DEFAULT 1,
    last_inbound_at  INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX users_role ON users(role);
CREATE INDEX users_org ON users(org_id);

-- Coordinators granted in the bot (config lists the others); NULL municipality = whole region.
CREATE TABLE coordinator_grants (
    vk_id           INTEGER PRIMARY KEY,
    municipality_id INTEGER REFERENCES municipalities(id),
    granted_by      INTEGER NOT NULL,
    granted_at      INTEGER NOT NULL
);

-- Long poll may replay events after a drop: each event_id is handled once.
CREATE TABLE processed_events (
    event_id     TEXT PRIMARY KEY,
    received_at  INTEGER NOT NULL
);
CREATE INDEX processed_events_age ON processed_events(received_at);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    actor_id  INTEGER NOT NULL,
    action    TEXT NOT NULL,
    details   TEXT NOT NULL DEFAULT '{}',
    at        INTEGER NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
