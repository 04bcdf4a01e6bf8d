-- Disclosures (contacts_disclosure): the words a contact agreed to, and when they were
-- written, never change, and cannot be replaced; an edit is a new version.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_disclosure_guard_update BEFORE UPDATE ON contacts_disclosure
    FOR EACH ROW WHEN NEW.id IS NOT OLD.id OR NEW.title IS NOT OLD.title
        OR NEW.version IS NOT OLD.version OR NEW.text IS NOT OLD.text
        OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'A disclosure never changes: add its next version.');
END;

CREATE TRIGGER contacts_disclosure_no_replace BEFORE INSERT ON contacts_disclosure
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_disclosure
        WHERE id = NEW.id OR (title = NEW.title AND version = NEW.version))
BEGIN
    SELECT RAISE(ABORT, 'A disclosure never changes: add its next version.');
END;
