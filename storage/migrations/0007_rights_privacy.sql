-- Rights, territory and privacy (issue 15, part B).

-- A broadcast stopped because its author lost the right to send it ('rights').
ALTER TABLE broadcasts ADD COLUMN cancel_reason TEXT;

-- Questions the help could not answer: whose (erased with the person) and where (a municipal
-- coordinator sees only their municipality's). Rows from before this migration stay
-- anonymous and tied to no municipality (only the whole region sees them).
ALTER TABLE faq_misses ADD COLUMN vk_id INTEGER;
ALTER TABLE faq_misses ADD COLUMN municipality_id INTEGER REFERENCES municipalities(id);
CREATE INDEX faq_misses_person ON faq_misses(vk_id);
