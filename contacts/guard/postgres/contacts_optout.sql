-- A contact's opt-outs (contacts_optout): a hard one cannot be changed, replaced or truncated or
-- deleted, but for its lift by the number's own opt-in, an inherited one once its contact has
-- another number, and any with its contact.

CREATE OR REPLACE FUNCTION public.contacts_guard_optout() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (
                COALESCE((SELECT h.kind FROM public.contacts_optout h
                        WHERE h.id = NEW.id AND h.id IS DISTINCT FROM NULL), '') = 'hard'
                OR COALESCE((SELECT h.kind FROM public.contacts_optout h
                        WHERE h.contact_id = NEW.contact_id AND h.channel = NEW.channel
                        AND h.id IS DISTINCT FROM NULL), '') = 'hard') THEN
            RAISE EXCEPTION 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        IF (OLD.kind = 'hard' AND (
                    NEW.id IS DISTINCT FROM OLD.id
                    OR NEW.kind IS DISTINCT FROM OLD.kind
                    OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
                    OR NEW.channel IS DISTINCT FROM OLD.channel
                    OR NEW.actor_id IS DISTINCT FROM OLD.actor_id
                    OR NEW.phone IS DISTINCT FROM OLD.phone
                    OR (NEW.inherited AND NOT OLD.inherited)
                    OR ((NEW.opted_out_at IS DISTINCT FROM OLD.opted_out_at
                            OR NEW.source IS DISTINCT FROM OLD.source
                            OR NEW.words IS DISTINCT FROM OLD.words)
                        AND NOT (OLD.inherited AND NOT NEW.inherited)))) OR (
                COALESCE((SELECT h.kind FROM public.contacts_optout h
                        WHERE h.id = NEW.id AND h.id IS DISTINCT FROM OLD.id), '') = 'hard'
                OR COALESCE((SELECT h.kind FROM public.contacts_optout h
                        WHERE h.contact_id = NEW.contact_id AND h.channel = NEW.channel
                        AND h.id IS DISTINCT FROM OLD.id), '') = 'hard') THEN
            RAISE EXCEPTION 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.kind = 'hard'
        AND EXISTS (SELECT 1 FROM public.contacts_contact c WHERE c.id = OLD.contact_id)
        AND NOT (OLD.inherited AND OLD.phone IS DISTINCT FROM (SELECT c.phone FROM public.contacts_contact c WHERE c.id = OLD.contact_id))
        AND NOT COALESCE((
                SELECT e.opt_in_id IS NOT NULL FROM public.contacts_consentevent e
                WHERE e.contact_id = OLD.contact_id AND e.channel = OLD.channel AND e.phone = (SELECT c.phone FROM public.contacts_contact c WHERE c.id = OLD.contact_id) ORDER BY e.id DESC LIMIT 1), FALSE) THEN
        RAISE EXCEPTION 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END
$$;

CREATE TRIGGER contacts_optout_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.contacts_optout
    FOR EACH ROW EXECUTE FUNCTION public.contacts_guard_optout();

CREATE OR REPLACE FUNCTION public.contacts_guard_optout_truncate() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM public.contacts_optout WHERE kind = 'hard') THEN
        RAISE EXCEPTION 'A hard opt-out cannot be reversed: only the number''s own new consent (a START reply, or the digit on a call) can lift it.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_optout_no_truncate
    BEFORE TRUNCATE ON public.contacts_optout
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_guard_optout_truncate();
