-- The consent ledger (contacts_consentevent) is append-only, each row takes the next id, and a new consent
-- is written only with the opt-in that proves it.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_consentevent_no_update BEFORE UPDATE ON contacts_consentevent
    FOR EACH ROW WHEN 1
BEGIN
    SELECT RAISE(ABORT, 'The consent ledger is append-only: its rows cannot be changed or deleted.');
END;

CREATE TRIGGER contacts_consentevent_no_delete BEFORE DELETE ON contacts_consentevent
    FOR EACH ROW WHEN 1
BEGIN
    SELECT RAISE(ABORT, 'The consent ledger is append-only: its rows cannot be changed or deleted.');
END;

CREATE TRIGGER contacts_consentevent_no_replace BEFORE INSERT ON contacts_consentevent
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_consentevent WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'The consent ledger is append-only: its rows cannot be changed or deleted.');
END;

CREATE TRIGGER contacts_consentevent_lift BEFORE INSERT ON contacts_consentevent
    FOR EACH ROW WHEN (NEW.opt_in_id IS NOT NULL AND NOT (NEW."after" = 'subscribed' AND EXISTS (
                SELECT 1 FROM contacts_optin i
                WHERE i.id = NEW.opt_in_id AND NOT i.applied AND i.phone = NEW.phone
                AND i.channel = NEW.channel AND i.source = NEW.source))) OR (NEW.opt_in_id IS NULL AND NEW."after" = 'subscribed'
        AND NEW.source IN ('keyword', 'digit'))
BEGIN
    SELECT RAISE(ABORT, 'A new consent must name the contact''s own opt-in, from the same number and for the same channel, recorded in this transaction and not applied before.');
END;

CREATE TRIGGER contacts_consentevent_next_id AFTER INSERT ON contacts_consentevent
    FOR EACH ROW WHEN NEW.id <> 1 + COALESCE(
        (SELECT MAX(e.id) FROM contacts_consentevent e WHERE e.id < NEW.id), 0)
BEGIN
    SELECT RAISE(ABORT, 'A consent ledger row takes the next id: its id cannot be chosen.');
END;
