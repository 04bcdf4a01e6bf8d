-- Reports of reassigned numbers (contacts_reassignednumber): each is recorded at the
-- database's time and kept as written, so that a number reported reassigned stays out of
-- broadcasts until consent given since is recorded.
CREATE OR REPLACE FUNCTION public.contacts_guard_reassignednumber() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.reported_at := now();
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'A report of a reassigned number is kept as written.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_reassignednumber_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.contacts_reassignednumber
    FOR EACH ROW EXECUTE FUNCTION public.contacts_guard_reassignednumber();

CREATE TRIGGER contacts_reassignednumber_no_truncate
    BEFORE TRUNCATE ON public.contacts_reassignednumber
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_guard_reassignednumber();
