-- A person is (messenger, id in that messenger). The internal person id stays users.vk_id:
-- VK people keep their VK id, MAX people get ids from a negative sequence (-1, -2, …) so the
-- two can never collide. Every existing user is a VK person.
CREATE TABLE accounts (
    person_id   INTEGER NOT NULL,
    messenger   TEXT NOT NULL CHECK (messenger IN ('vk', 'max')),
    external_id INTEGER NOT NULL,
    created_at  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (messenger, external_id)
);
CREATE UNIQUE INDEX accounts_person ON accounts(person_id);
INSERT INTO accounts (person_id, messenger, external_id, created_at)
    SELECT vk_id, 'vk', vk_id, created_at FROM users;

-- Where a transport stopped reading its updates (MAX's GET /updates marker): saved after each
-- handled batch, so a restart neither loses nor repeats a batch.
CREATE TABLE transport_state (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
