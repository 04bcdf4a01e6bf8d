-- Contacts: an id never changes and a contact cannot be replaced; a new contact takes the hard opt-outs of its
-- number; a contact whose number changes carries the opt-outs it held over to the new number,
-- drops those it inherited, and takes the new number's. The phone counts (contacts_phonecount)
-- follow contacts as they come, go and change number.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_count_inserted_phone AFTER INSERT ON contacts_contact
    FOR EACH ROW
BEGIN
    INSERT INTO contacts_phonecount (phone, contacts) VALUES (NEW.phone, 1)
        ON CONFLICT (phone) DO UPDATE SET contacts = contacts + 1;
END;

CREATE TRIGGER contacts_count_deleted_phone AFTER DELETE ON contacts_contact
    FOR EACH ROW
BEGIN
    UPDATE contacts_phonecount SET contacts = contacts - 1 WHERE phone = OLD.phone;
END;

CREATE TRIGGER contacts_count_changed_phone AFTER UPDATE OF phone ON contacts_contact
    FOR EACH ROW WHEN NEW.phone IS NOT OLD.phone
BEGIN
    UPDATE contacts_phonecount SET contacts = contacts - 1 WHERE phone = OLD.phone; INSERT INTO contacts_phonecount (phone, contacts) VALUES (NEW.phone, 1)
        ON CONFLICT (phone) DO UPDATE SET contacts = contacts + 1;
END;

CREATE TRIGGER contacts_contact_no_replace BEFORE INSERT ON contacts_contact
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_contact WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'A contact cannot be replaced: update it instead.');
END;

CREATE TRIGGER contacts_contact_keeps_id BEFORE UPDATE ON contacts_contact
    FOR EACH ROW WHEN NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'A contact''s id cannot change.');
END;

CREATE TRIGGER contacts_contact_inserted AFTER INSERT ON contacts_contact
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_phoneoptout WHERE phone = NEW.phone)
BEGIN
    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN TRUE THEN 'inherited' ELSE 'number' END, p.id
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        LEFT JOIN contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = TRUE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE contacts_optout.contact_id = c.id AND contacts_optout.channel = p.channel
        AND contacts_optout.kind = 'soft';

    INSERT INTO contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        TRUE
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
END;

CREATE TRIGGER contacts_contact_phone_changed AFTER UPDATE OF phone ON contacts_contact
    FOR EACH ROW WHEN NEW.phone IS NOT OLD.phone
BEGIN
    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via)
        SELECT NEW.id, NEW.phone, o.channel, 'hard',
        CASE WHEN (SELECT e."before" FROM contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = o.channel AND e."after" = 'hard'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1) = 'soft' THEN 'soft' ELSE 'subscribed' END, 'carried', NULL,
        o.phone, 'moved'
        FROM contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND o.inherited AND o.phone <> NEW.phone;

    DELETE FROM contacts_optout
        WHERE contact_id = NEW.id AND kind = 'hard' AND inherited AND phone <> NEW.phone;

    -- The soft opt-out a user made before the number's opt-out reached the contact.
    INSERT INTO contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT NEW.id, m.channel, 'soft', COALESCE((SELECT e.at FROM contacts_consentevent e
                WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
                AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), strftime('%Y-%m-%d %H:%M:%f', 'now')), 'user',
        (SELECT e.actor_id FROM contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), '', '', FALSE
        FROM contacts_consentevent m
        WHERE m.contact_id = NEW.id AND m.via = 'moved' AND m."after" = 'soft'
        AND m.id = (SELECT MAX(e.id) FROM contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel)
        AND NOT EXISTS (SELECT 1 FROM contacts_optout o
            WHERE o.contact_id = NEW.id AND o.channel = m.channel);

    INSERT INTO contacts_phoneoptout (phone, channel, opted_out_at, source, words)
        SELECT NEW.phone, o.channel, strftime('%Y-%m-%d %H:%M:%f', 'now'), 'carried', OLD.phone
        FROM contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited AND NOT EXISTS (
            SELECT 1 FROM contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel);

    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT NEW.id, NEW.phone, o.channel, 'hard', 'hard', 'carried', NULL, OLD.phone,
        'number', (SELECT p.id FROM contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel)
        FROM contacts_optout o WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited;

    INSERT INTO contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN NOT EXISTS (
            SELECT 1 FROM contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id) THEN 'inherited' ELSE 'number' END, p.id
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        LEFT JOIN contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = NOT EXISTS (
            SELECT 1 FROM contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE contacts_optout.contact_id = c.id AND contacts_optout.channel = p.channel
        AND contacts_optout.kind = 'soft';

    INSERT INTO contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        NOT EXISTS (
            SELECT 1 FROM contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM contacts_contact c JOIN contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );

END;

-- A contact's consent on record stays with the contact, not with a number it leaves: when the
-- contact moves to another number or is deleted, its records of that number are made void
-- (kept, as every record is). Consent from a number no contact had (a JOIN) stays the number's.
CREATE TRIGGER contacts_contact_moved_consent AFTER UPDATE OF phone ON contacts_contact
    FOR EACH ROW WHEN OLD.phone IS NOT NEW.phone
BEGIN
    UPDATE contacts_consentrecord SET status = 'void',
        voided_at = strftime('%Y-%m-%d %H:%M:%f', 'now'),
        void_reason = 'the contact moved to another number'
        WHERE contact_id = OLD.id AND phone = OLD.phone AND status IN ('confirmed', 'awaiting');
END;

CREATE TRIGGER contacts_contact_deleted_consent AFTER DELETE ON contacts_contact
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_consentrecord SET status = 'void',
        voided_at = strftime('%Y-%m-%d %H:%M:%f', 'now'), void_reason = 'the contact was deleted'
        WHERE contact_id = OLD.id AND phone = OLD.phone AND status IN ('confirmed', 'awaiting');
END;

-- Whether a contact's number has consent on record for each channel (sms_consent_on_record,
-- calls_consent_on_record): the database's word, never a writer's, worked out here when a
-- contact is added or changes number, or when a writer sets either; and for a number's
-- contacts when its records change (contacts_consentrecord.sql).
CREATE TRIGGER contacts_contact_consent AFTER INSERT ON contacts_contact
    FOR EACH ROW WHEN NEW.sms_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'))
        OR NEW.calls_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed'))
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE id = NEW.id;
END;

CREATE TRIGGER contacts_contact_consent_changed
    AFTER UPDATE OF phone, sms_consent_on_record, calls_consent_on_record ON contacts_contact
    FOR EACH ROW WHEN NEW.sms_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'))
        OR NEW.calls_consent_on_record IS NOT (EXISTS (
            SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed'))
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE id = NEW.id;
END;
