-- The person's sex as VK's users.get gives it (1 female, 2 male, 0 not stated), kept with the
-- name so texts about them read right («сообщила» / «сообщил»); NULL = not asked yet.
ALTER TABLE users ADD COLUMN sex INTEGER CHECK (sex IN (0, 1, 2));
