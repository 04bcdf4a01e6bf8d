-- The consent ledger (contacts_consentevent) is append-only, each row takes the next id, and a new consent
-- is written only with the opt-in that proves it.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_consentevent_no_update BEFORE UPDATE ON contacts_consentevent
    FOR EACH ROW WHEN NOT (OLD.chain = '' AND NEW.id IS OLD.id AND NEW.at IS OLD.at
        AND NEW.contact_id IS OLD.contact_id AND NEW.phone IS OLD.phone
        AND NEW.channel IS OLD.channel AND NEW."before" IS OLD."before"
        AND NEW."after" IS OLD."after" AND NEW.source IS OLD.source
        AND NEW.actor_id IS OLD.actor_id AND NEW.note IS OLD.note AND NEW.via IS OLD.via
        AND NEW.copied_from IS OLD.copied_from AND NEW.opt_in_id IS OLD.opt_in_id
        AND NEW.matched IS OLD.matched)
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

-- The hash chain (contacts/chain.py): each row carries a hash over its content and the hash
-- of the row before it of the same number and channel (chained_to), written here, as the
-- one change contacts_consentevent_no_update lets through. SHA256 is the function Django
-- gives its SQLite connections.
CREATE TRIGGER contacts_consentevent_chained AFTER INSERT ON contacts_consentevent
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_consentevent SET chained_to = (
        SELECT p.id FROM contacts_consentevent p WHERE p.phone = NEW.phone
        AND p.channel = NEW.channel AND p.id < NEW.id ORDER BY p.id DESC LIMIT 1
    ) WHERE id = NEW.id;
    UPDATE contacts_consentevent SET chain = SHA256(
            length(COALESCE(CAST(NEW.id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.at AS TEXT), '')) || ':' || COALESCE(CAST(NEW.at AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.contact_id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.contact_id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.phone AS TEXT), '')) || ':' || COALESCE(CAST(NEW.phone AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.channel AS TEXT), '')) || ':' || COALESCE(CAST(NEW.channel AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW."before" AS TEXT), '')) || ':' || COALESCE(CAST(NEW."before" AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW."after" AS TEXT), '')) || ':' || COALESCE(CAST(NEW."after" AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.source AS TEXT), '')) || ':' || COALESCE(CAST(NEW.source AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.actor_id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.actor_id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.note AS TEXT), '')) || ':' || COALESCE(CAST(NEW.note AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.via AS TEXT), '')) || ':' || COALESCE(CAST(NEW.via AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.copied_from AS TEXT), '')) || ':' || COALESCE(CAST(NEW.copied_from AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.opt_in_id AS TEXT), '')) || ':' || COALESCE(CAST(NEW.opt_in_id AS TEXT), '') || ';' ||
            length(COALESCE(CAST(NEW.matched AS TEXT), '')) || ':' || COALESCE(CAST(NEW.matched AS TEXT), '') || ';' ||
            length(COALESCE(CAST(chained_to AS TEXT), '')) || ':' || COALESCE(CAST(chained_to AS TEXT), '') || ';' ||
            length(COALESCE((SELECT p.chain FROM contacts_consentevent p
                WHERE p.id = contacts_consentevent.chained_to), '')) || ':'
            || COALESCE((SELECT p.chain FROM contacts_consentevent p
                WHERE p.id = contacts_consentevent.chained_to), '') || ';'
    ) WHERE id = NEW.id;
END;



-- The Insights page's counts of changes by the quarter hour (contacts_ledgercount): a row
-- added, never one updated; a number's change once, not its copies onto contacts nor the
-- other rows of the same change; no repeated status, no change of number.
CREATE TRIGGER contacts_count_ledger AFTER INSERT ON contacts_consentevent
FOR EACH ROW WHEN NEW.copied_from IS NULL AND NEW."before" <> NEW."after" AND NEW.source <> 'carried'
    AND NOT EXISTS (SELECT 1 FROM contacts_consentevent e WHERE e.phone = NEW.phone
        AND e.channel = NEW.channel AND e."after" = NEW."after" AND e.id < NEW.id
        AND e.copied_from IS NULL AND e."before" <> e."after" AND e.at >= strftime('%Y-%m-%d %H:%M:%f', NEW.at, '-2 seconds'))
BEGIN
    INSERT INTO contacts_ledgercount (period, channel, source, after, reviewed, changes)
    VALUES (strftime('%Y-%m-%d %H:', NEW.at) || printf('%02d:00', CAST(strftime('%M', NEW.at) AS INTEGER) / 15 * 15), NEW.channel, NEW.source, NEW.after,
            NEW.matched LIKE 'confirmed in review%', 1);
END;
