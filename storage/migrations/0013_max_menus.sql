-- MAX has no keyboard under the input field: the menu VK would keep there is attached to each
-- message (bot/max/sender.py). Which menu a MAX person has is kept here, so it survives a
-- restart (one row per MAX person who has a menu; the keyboard as the core's JSON).
CREATE TABLE max_menus (
    person_id INTEGER PRIMARY KEY,
    keyboard  TEXT NOT NULL
);
