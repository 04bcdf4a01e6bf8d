-- The consent ledger (contacts_consentevent) is append-only, its ids and times come from the database, and a new consent
-- is written only with the opt-in that proves it.

CREATE OR REPLACE FUNCTION public.contacts_refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'The consent ledger is append-only: its rows cannot be changed or deleted.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_consentevent_append_only
    BEFORE UPDATE OR DELETE ON public.contacts_consentevent
    FOR EACH ROW EXECUTE FUNCTION public.contacts_refuse_ledger_change();

CREATE TRIGGER contacts_consentevent_no_truncate
    BEFORE TRUNCATE ON public.contacts_consentevent
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_refuse_ledger_change();

CREATE OR REPLACE FUNCTION public.contacts_ledger_row_written() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    -- The database decides the order and the time: "newest" is never the writer's word.
    NEW.id := nextval('public.contacts_consentevent_id_seq'::regclass);
    NEW.at := statement_timestamp(); -- the column's default (Django's Now())
    IF (NEW.opt_in_id IS NOT NULL AND NOT (NEW."after" = 'subscribed' AND EXISTS (
                    SELECT 1 FROM public.contacts_optin i
                    WHERE i.id = NEW.opt_in_id AND NOT i.applied AND i.phone = NEW.phone
                    AND i.channel = NEW.channel AND i.source = NEW.source AND i.at = now())))
        OR (NEW.opt_in_id IS NULL AND NEW."after" = 'subscribed'
            AND NEW.source IN ('keyword', 'digit')) THEN
        RAISE EXCEPTION 'A new consent must name the contact''s own opt-in, from the same number and for the same channel, recorded in this transaction and not applied before.' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

-- Only for the rows that need it: a writer's own id or time, or a new consent
-- (bench/NOTES.md: what the call costs a bulk change when it runs for every row).
CREATE TRIGGER contacts_consentevent_written
    BEFORE INSERT ON public.contacts_consentevent
    FOR EACH ROW WHEN (
        NEW.id IS DISTINCT FROM currval('public.contacts_consentevent_id_seq'::regclass)
        OR NEW.at IS DISTINCT FROM statement_timestamp()
        OR NEW.opt_in_id IS NOT NULL
        OR (NEW."after" = 'subscribed' AND NEW.source IN ('keyword', 'digit')))
    EXECUTE FUNCTION public.contacts_ledger_row_written();

-- The hash chain (contacts/chain.py): each row carries a hash over its content and the hash
-- of the row before it of the same number and channel (chained_to), written here.
CREATE OR REPLACE FUNCTION public.contacts_ledger_chained() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    previous_chain text;
    part text;
    content text := '';
BEGIN
    SELECT e.id, e.chain INTO NEW.chained_to, previous_chain FROM public.contacts_consentevent e
        WHERE e.phone = NEW.phone AND e.channel = NEW.channel AND e.id < NEW.id
        ORDER BY e.id DESC LIMIT 1;
    FOREACH part IN ARRAY ARRAY[
            NEW.id::text, to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
            NEW.contact_id::text, NEW.phone, NEW.channel, NEW."before", NEW."after", NEW.source,
            NEW.actor_id::text, NEW.note, NEW.via, NEW.copied_from::text, NEW.opt_in_id::text,
            NEW.matched, NEW.chained_to::text, previous_chain] LOOP
        part := coalesce(part, '');
        content := content || length(part) || ':' || part || ';';
    END LOOP;
    NEW.chain := encode(sha256(convert_to(content, 'UTF8')), 'hex');
    RETURN NEW;
END
$$;

-- After contacts_consentevent_written (triggers fire in the order of their names), which
-- may set the row's id and time.
CREATE TRIGGER contacts_consentevent_written_chain
    BEFORE INSERT ON public.contacts_consentevent
    FOR EACH ROW EXECUTE FUNCTION public.contacts_ledger_chained();



-- The Insights page's counts of changes by the quarter hour (contacts_ledgercount): a row
-- added, never one updated; a number's change once, not its copies onto contacts nor the
-- other rows of the same change; no repeated status, no change of number.
CREATE OR REPLACE FUNCTION public.contacts_count_ledger() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO public.contacts_ledgercount (period, channel, source, "after", reviewed, changes)
    SELECT date_bin('15 minutes', n.at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), n.channel, n.source, n."after",
        n.matched LIKE 'confirmed in review%', COUNT(*)
    FROM new_rows n WHERE n.copied_from IS NULL AND n."before" <> n."after" AND n.source <> 'carried'
    AND NOT EXISTS (SELECT 1 FROM public.contacts_consentevent e WHERE e.phone = n.phone
        AND e.channel = n.channel AND e."after" = n."after" AND e.id < n.id
        AND e.copied_from IS NULL AND e."before" <> e."after" AND e.at >= n.at - interval '2 seconds')
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_ledger
    AFTER INSERT ON public.contacts_consentevent REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_count_ledger();
