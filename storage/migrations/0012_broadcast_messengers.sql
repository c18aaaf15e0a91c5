-- A broadcast reaches VK, MAX or both (the audience's "messenger", in its JSON); how many of
-- its recipients are in MAX is kept next to the total, so the progress line and the report
-- show each messenger's figures (VK's are the rest).
ALTER TABLE broadcasts ADD COLUMN recipients_max INTEGER NOT NULL DEFAULT 0;
