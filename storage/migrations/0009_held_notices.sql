-- Notices VK refused because the person never wrote to the community (error 901/902): they wait
-- here and are delivered when the person writes (a coordinator named in the config who has not
-- written yet would otherwise silently miss every notice).
CREATE TABLE held_notices (
    id          INTEGER PRIMARY KEY,
    peer_id     INTEGER NOT NULL,
    about_vk_id INTEGER,                      -- whom it is about (erased with them), if not peer
    key         TEXT NOT NULL,                -- the message's identity (random_id)
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    keyboard    TEXT,
    attachments TEXT NOT NULL DEFAULT '',
    template    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (peer_id, key)
);
