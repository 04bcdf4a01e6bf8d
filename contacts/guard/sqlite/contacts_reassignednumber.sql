-- Reports of reassigned numbers (contacts_reassignednumber): kept as written, so that a
-- number reported reassigned stays out of broadcasts until consent given since is recorded.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_reassignednumber_no_update BEFORE UPDATE ON contacts_reassignednumber
    FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'A report of a reassigned number is kept as written.');
END;

CREATE TRIGGER contacts_reassignednumber_no_delete BEFORE DELETE ON contacts_reassignednumber
    FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'A report of a reassigned number is kept as written.');
END;

CREATE TRIGGER contacts_reassignednumber_no_replace BEFORE INSERT ON contacts_reassignednumber
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_reassignednumber WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'A report of a reassigned number is kept as written.');
END;
