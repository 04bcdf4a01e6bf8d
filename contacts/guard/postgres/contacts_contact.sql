-- Contacts: an id never changes; a new contact takes the hard opt-outs of its
-- number; a contact whose number changes carries the opt-outs it held over to the new number,
-- drops those it inherited, and takes the new number's. The phone counts (contacts_phonecount)
-- follow contacts as they come, go and change number.

CREATE OR REPLACE FUNCTION public.contacts_refuse_contact_id_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'A contact''s id cannot change.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_contact_keeps_id
    BEFORE UPDATE ON public.contacts_contact
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id)
    EXECUTE FUNCTION public.contacts_refuse_contact_id_change();

-- A contact written while its number opts out, in another transaction, waits for it: contact
-- writes take the number's advisory lock shared, opt-outs of numbers exclusive (the keys of
-- services.lock_numbers), and both are refused outside READ COMMITTED.
CREATE OR REPLACE FUNCTION public.contacts_contact_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at another isolation level a contact could miss its number''s opt-out.'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (SELECT count(DISTINCT phone) FROM new_contacts) <= 64 THEN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(n.phone, 0))
            FROM (SELECT DISTINCT phone FROM new_contacts ORDER BY phone) n;
    ELSE
        LOCK TABLE public.contacts_phoneoptout IN SHARE MODE;
    END IF;

    IF EXISTS (
            SELECT FROM new_contacts c JOIN public.contacts_phoneoptout p ON p.phone = c.phone
        ) THEN

        INSERT INTO public.contacts_consentevent
            (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
                copied_from)
            SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
            NULL, p.words, 'inherited', p.id
            FROM new_contacts c JOIN public.contacts_phoneoptout p ON p.phone = c.phone
            LEFT JOIN public.contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
            WHERE o.kind IS NULL OR o.kind = 'soft';

        UPDATE public.contacts_optout
            SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
            actor_id = NULL, phone = p.phone, inherited = TRUE
            FROM new_contacts c JOIN public.contacts_phoneoptout p ON p.phone = c.phone
            WHERE public.contacts_optout.contact_id = c.id AND public.contacts_optout.channel = p.channel
            AND public.contacts_optout.kind = 'soft';

        INSERT INTO public.contacts_optout
            (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
            SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone, TRUE
            FROM new_contacts c JOIN public.contacts_phoneoptout p ON p.phone = c.phone
            WHERE NOT EXISTS (
                SELECT 1 FROM public.contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
            );

    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_contact_inserted
    AFTER INSERT ON public.contacts_contact REFERENCING NEW TABLE AS new_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_contact_inserted();

CREATE OR REPLACE FUNCTION public.contacts_contact_phone_changed() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at another isolation level a contact could miss its number''s opt-out.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Both numbers, in their order: a START of the number the contact leaves waits for the
    -- move, or the move for it, so that the contact carries the number's opt-out or not,
    -- never leaves it behind for the number it goes to (a cold review found that race).
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(n.phone, 0))
        FROM (SELECT DISTINCT phone FROM unnest(ARRAY[OLD.phone, NEW.phone]) phone ORDER BY phone) n;

    INSERT INTO public.contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via)
        SELECT NEW.id, NEW.phone, o.channel, 'hard',
        CASE WHEN (SELECT e."before" FROM public.contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = o.channel AND e."after" = 'hard'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1) = 'soft' THEN 'soft' ELSE 'subscribed' END, 'carried', NULL,
        o.phone, 'moved'
        FROM public.contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND o.inherited AND o.phone <> NEW.phone;

    DELETE FROM public.contacts_optout
        WHERE contact_id = NEW.id AND kind = 'hard' AND inherited AND phone <> NEW.phone;

    -- The soft opt-out a user made before the number's opt-out reached the contact.
    INSERT INTO public.contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT NEW.id, m.channel, 'soft', COALESCE((SELECT e.at FROM public.contacts_consentevent e
                WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
                AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), now()), 'user',
        (SELECT e.actor_id FROM public.contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel AND e."after" = 'soft'
            AND e.via <> 'moved' ORDER BY e.id DESC LIMIT 1), '', '', FALSE
        FROM public.contacts_consentevent m
        WHERE m.contact_id = NEW.id AND m.via = 'moved' AND m."after" = 'soft'
        AND m.id = (SELECT MAX(e.id) FROM public.contacts_consentevent e
            WHERE e.contact_id = NEW.id AND e.channel = m.channel)
        AND NOT EXISTS (SELECT 1 FROM public.contacts_optout o
            WHERE o.contact_id = NEW.id AND o.channel = m.channel);

    INSERT INTO public.contacts_phoneoptout (phone, channel, opted_out_at, source, words)
        SELECT NEW.phone, o.channel, now(), 'carried', OLD.phone
        FROM public.contacts_optout o
        WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited AND NOT EXISTS (
            SELECT 1 FROM public.contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel);

    INSERT INTO public.contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT NEW.id, NEW.phone, o.channel, 'hard', 'hard', 'carried', NULL, OLD.phone,
        'number', (SELECT p.id FROM public.contacts_phoneoptout p
            WHERE p.phone = NEW.phone AND p.channel = o.channel)
        FROM public.contacts_optout o WHERE o.contact_id = NEW.id AND o.kind = 'hard' AND NOT o.inherited;

    INSERT INTO public.contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN NOT EXISTS (
            SELECT 1 FROM public.contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id) THEN 'inherited' ELSE 'number' END, p.id
        FROM public.contacts_contact c JOIN public.contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        LEFT JOIN public.contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE public.contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = NOT EXISTS (
            SELECT 1 FROM public.contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM public.contacts_contact c JOIN public.contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE public.contacts_optout.contact_id = c.id AND public.contacts_optout.channel = p.channel
        AND public.contacts_optout.kind = 'soft';

    INSERT INTO public.contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        NOT EXISTS (
            SELECT 1 FROM public.contacts_consentevent e
            WHERE e.contact_id = c.id AND e.channel = p.channel AND e.via = 'number'
            AND e.copied_from = p.id)
        FROM public.contacts_contact c JOIN public.contacts_phoneoptout p ON p.phone = c.phone AND c.id = NEW.id
        WHERE NOT EXISTS (
            SELECT 1 FROM public.contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );

    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_contact_phone_changed
    AFTER UPDATE OF phone ON public.contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION public.contacts_contact_phone_changed();

-- The phone counts: statement triggers add up each statement's changes in one upsert, in the
-- numbers' order, so that concurrent statements lock shared rows in the same order.
CREATE OR REPLACE FUNCTION public.contacts_count_inserted_phones() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.contacts_phonecount AS counted (phone, contacts)
        SELECT phone, SUM(delta) FROM (SELECT phone, 1 FROM new_contacts) AS deltas (phone, delta)
        GROUP BY phone HAVING SUM(delta) <> 0 ORDER BY phone
        ON CONFLICT (phone) DO UPDATE SET contacts = counted.contacts + excluded.contacts; RETURN NULL;
END
$$;

CREATE TRIGGER contacts_count_inserted_phones
    AFTER INSERT ON public.contacts_contact REFERENCING NEW TABLE AS new_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_inserted_phones();

CREATE OR REPLACE FUNCTION public.contacts_count_deleted_phones() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.contacts_phonecount AS counted (phone, contacts)
        SELECT phone, SUM(delta) FROM (SELECT phone, -1 FROM old_contacts) AS deltas (phone, delta)
        GROUP BY phone HAVING SUM(delta) <> 0 ORDER BY phone
        ON CONFLICT (phone) DO UPDATE SET contacts = counted.contacts + excluded.contacts; RETURN NULL;
END
$$;

CREATE TRIGGER contacts_count_deleted_phones
    AFTER DELETE ON public.contacts_contact REFERENCING OLD TABLE AS old_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_deleted_phones();

-- A row trigger: a statement trigger's transition tables would carry every updated row,
-- a million of them for a bulk change of status, to find the few that changed number.
CREATE OR REPLACE FUNCTION public.contacts_count_changed_phone() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.contacts_phonecount AS counted (phone, contacts)
        SELECT phone, SUM(delta) FROM (VALUES (OLD.phone, -1), (NEW.phone, 1)) AS deltas (phone, delta)
        GROUP BY phone HAVING SUM(delta) <> 0 ORDER BY phone
        ON CONFLICT (phone) DO UPDATE SET contacts = counted.contacts + excluded.contacts; RETURN NULL;
END
$$;

CREATE TRIGGER contacts_count_changed_phone
    AFTER UPDATE OF phone ON public.contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION contacts_count_changed_phone();

CREATE OR REPLACE FUNCTION public.contacts_count_no_phones() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    TRUNCATE public.contacts_phonecount; RETURN NULL;
END
$$;

CREATE TRIGGER contacts_count_no_phones
    AFTER TRUNCATE ON public.contacts_contact
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_no_phones();

-- A contact's consent on record stays with the contact, not with a number it leaves: when the
-- contact moves to another number or is deleted, its records of that number are made void
-- (kept, as every record is). Consent from a number no contact had (a JOIN) stays the number's.
CREATE OR REPLACE FUNCTION public.contacts_consent_left_behind() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE public.contacts_consentrecord SET status = 'void', voided_at = now(),
        void_reason = CASE WHEN TG_OP = 'DELETE' THEN 'the contact was deleted'
                           ELSE 'the contact moved to another number' END
        WHERE contact_id = OLD.id AND phone = OLD.phone AND status IN ('confirmed', 'awaiting');
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_contact_moved_consent AFTER UPDATE OF phone ON public.contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone)
    EXECUTE FUNCTION public.contacts_consent_left_behind();

CREATE TRIGGER contacts_contact_deleted_consent AFTER DELETE ON public.contacts_contact
    FOR EACH ROW EXECUTE FUNCTION public.contacts_consent_left_behind();

-- Whether a contact's number has consent on record for each channel (sms_consent_on_record,
-- calls_consent_on_record): the database's word, never a writer's, worked out here when a
-- contact is added or changes number, or when a writer sets either; and for a number's
-- contacts when its records change (contacts_consentrecord.sql).
CREATE OR REPLACE FUNCTION public.contacts_contact_consent() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    SELECT COALESCE(bool_or(r.channel = 'sms'), FALSE),
        COALESCE(bool_or(r.channel = 'calls'), FALSE)
        INTO NEW.sms_consent_on_record, NEW.calls_consent_on_record
        FROM public.contacts_consentrecord r WHERE r.phone = NEW.phone AND r.status = 'confirmed';
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_contact_consent BEFORE INSERT ON public.contacts_contact
    FOR EACH ROW EXECUTE FUNCTION public.contacts_contact_consent();

CREATE TRIGGER contacts_contact_consent_changed
    BEFORE UPDATE OF phone, sms_consent_on_record, calls_consent_on_record ON public.contacts_contact
    FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone
        OR OLD.sms_consent_on_record IS DISTINCT FROM NEW.sms_consent_on_record
        OR OLD.calls_consent_on_record IS DISTINCT FROM NEW.calls_consent_on_record)
    EXECUTE FUNCTION public.contacts_contact_consent();
