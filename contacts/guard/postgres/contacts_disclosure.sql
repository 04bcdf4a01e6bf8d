-- Disclosures (contacts_disclosure): the words a contact agreed to, and when they were
-- written, never change; an edit is a new version.
CREATE OR REPLACE FUNCTION public.contacts_guard_disclosure() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.title IS DISTINCT FROM OLD.title
            OR NEW.version IS DISTINCT FROM OLD.version OR NEW.text IS DISTINCT FROM OLD.text
            OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'A disclosure never changes: add its next version.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER contacts_disclosure_guard BEFORE UPDATE ON public.contacts_disclosure
    FOR EACH ROW EXECUTE FUNCTION public.contacts_guard_disclosure();
