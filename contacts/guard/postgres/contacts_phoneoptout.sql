-- Opt-outs of numbers (contacts_phoneoptout): one cannot be changed, or deleted but by
-- the number's own opt-in; a new one writes its ledger row and is copied onto the number's
-- contacts, with the rule that read the contact's words as a revocation (matched).

CREATE OR REPLACE FUNCTION public.contacts_guard_phoneoptout() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT (NOT COALESCE((
                    SELECT e.opt_in_id IS NOT NULL FROM public.contacts_consentevent e
                    WHERE e.contact_id IS NULL AND e.phone = OLD.phone AND e.channel = OLD.channel ORDER BY e.id DESC LIMIT 1), FALSE)) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_phoneoptout_guard
    BEFORE UPDATE OR DELETE ON public.contacts_phoneoptout
    FOR EACH ROW EXECUTE FUNCTION public.contacts_guard_phoneoptout();

CREATE OR REPLACE FUNCTION public.contacts_refuse_hard_reversal() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_phoneoptout_no_truncate
    BEFORE TRUNCATE ON public.contacts_phoneoptout
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_refuse_hard_reversal();

CREATE OR REPLACE FUNCTION public.contacts_phoneoptout_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'Contacts and the opt-outs of numbers are written at READ COMMITTED, the default: at another isolation level a contact could miss its number''s opt-out.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (SELECT count(DISTINCT phone) FROM new_opt_outs) <= 64 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(n.phone, 0))
            FROM (SELECT DISTINCT phone FROM new_opt_outs ORDER BY phone) n;
    ELSE
        LOCK TABLE public.contacts_contact IN SHARE MODE;
    END IF;
    INSERT INTO public.contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, matched)
        SELECT NULL, p.phone, p.channel, 'subscribed', 'hard', p.source, NULL,
        p.words, p.matched
        FROM new_opt_outs p;

    INSERT INTO public.contacts_consentevent
        (contact_id, phone, channel, "before", "after", source, actor_id, note, via,
            copied_from, matched)
        SELECT c.id, c.phone, p.channel, COALESCE(o.kind, 'subscribed'), 'hard', p.source,
        NULL, p.words, CASE WHEN FALSE THEN 'inherited' ELSE 'number' END, p.id, p.matched
        FROM public.contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        LEFT JOIN public.contacts_optout o ON o.contact_id = c.id AND o.channel = p.channel
        WHERE o.kind IS NULL OR o.kind = 'soft';

    UPDATE public.contacts_optout
        SET kind = 'hard', opted_out_at = p.opted_out_at, source = p.source, words = p.words,
        actor_id = NULL, phone = p.phone, inherited = FALSE
        FROM public.contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        WHERE public.contacts_optout.contact_id = c.id AND public.contacts_optout.channel = p.channel
        AND public.contacts_optout.kind = 'soft';

    INSERT INTO public.contacts_optout
        (contact_id, channel, kind, opted_out_at, source, actor_id, words, phone, inherited)
        SELECT c.id, p.channel, 'hard', p.opted_out_at, p.source, NULL, p.words, p.phone,
        FALSE
        FROM public.contacts_contact c JOIN new_opt_outs p ON p.phone = c.phone
        WHERE NOT EXISTS (
            SELECT 1 FROM public.contacts_optout o WHERE o.contact_id = c.id AND o.channel = p.channel
        );
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_phoneoptout_inserted
    AFTER INSERT ON public.contacts_phoneoptout REFERENCING NEW TABLE AS new_opt_outs
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_phoneoptout_inserted();
