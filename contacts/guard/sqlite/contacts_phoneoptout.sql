-- Opt-outs of numbers (contacts_phoneoptout): one cannot be changed or replaced, or deleted but by
-- the number's own opt-in; a new one writes its ledger row and is copied onto the number's
-- contacts, with the rule that read the contact's words as a revocation (matched).
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_phoneoptout_guard_update BEFORE UPDATE ON contacts_phoneoptout
    FOR EACH ROW WHEN 1
BEGIN
    SELECT RAISE(ABORT, 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.');
END;

CREATE TRIGGER contacts_phoneoptout_guard_delete BEFORE DELETE ON contacts_phoneoptout
    FOR EACH ROW WHEN NOT COALESCE((
            SELECT e.opt_in_id IS NOT NULL FROM contacts_consentevent e
            WHERE e.contact_id IS NULL AND e.phone = OLD.phone AND e.channel = OLD.channel ORDER BY e.id DESC LIMIT 1), FALSE)
BEGIN
    SELECT RAISE(ABORT, 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.');
END;

CREATE TRIGGER contacts_phoneoptout_no_replace BEFORE INSERT ON contacts_phoneoptout
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_phoneoptout WHERE id = NEW.id OR (phone = NEW.phone AND channel = NEW.channel))
BEGIN
    SELECT RAISE(ABORT, 'The number has opted out already: its opt-out cannot be replaced.');
END;

CREATE TRIGGER contacts_phoneoptout_inserted AFTER INSERT ON contacts_phoneoptout
    FOR EACH ROW WHEN 1
BEGIN
    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, matched)
        SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
        p.words, p.matched
        FROM contacts_phoneoptout p WHERE p.id = NEW.id;

    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from, matched)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN FALSE THEN 'inherited' ELSE 'number' END, p.id, p.matched
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        LEFT JOIN contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = FALSE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        WHERE contacts_optout.contact_id = c.id AND contacts_optout.channel = p.channel
        AND contacts_optout.kind = 'soft';

    INSERT INTO contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        FALSE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND p.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
END;
