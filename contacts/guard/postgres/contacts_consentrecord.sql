-- Consent records (contacts_consentrecord): what was given stays as it was given. Each is
-- recorded at the database's time; after that only an awaited consent's confirmation and a
-- record's voiding may be written, once each.
CREATE OR REPLACE FUNCTION public.contacts_guard_consentrecord() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.recorded_at := now();
        RETURN NEW;
    END IF;
    IF NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.phone IS NOT DISTINCT FROM OLD.phone
            AND NEW.channel IS NOT DISTINCT FROM OLD.channel
            AND NEW.method IS NOT DISTINCT FROM OLD.method
            AND NEW.given_at IS NOT DISTINCT FROM OLD.given_at
            AND NEW.recorded_at IS NOT DISTINCT FROM OLD.recorded_at
            AND NEW.contact_id IS NOT DISTINCT FROM OLD.contact_id
            AND NEW.recorded_by_id IS NOT DISTINCT FROM OLD.recorded_by_id
            AND NEW.disclosure_id IS NOT DISTINCT FROM OLD.disclosure_id
            AND NEW.words IS NOT DISTINCT FROM OLD.words
            AND NEW.reference IS NOT DISTINCT FROM OLD.reference
            AND ((OLD.status = 'awaiting' AND NEW.status = 'confirmed'
                    AND OLD.confirmed_at IS NULL AND NEW.confirmed_at IS NOT NULL
                    AND NEW.confirmation <> ''
                    AND NEW.voided_at IS NOT DISTINCT FROM OLD.voided_at
                    AND NEW.void_reason IS NOT DISTINCT FROM OLD.void_reason)
                OR (OLD.status IN ('awaiting', 'confirmed') AND NEW.status = 'void'
                    AND NEW.voided_at IS NOT NULL AND NEW.void_reason <> ''
                    AND NEW.confirmed_at IS NOT DISTINCT FROM OLD.confirmed_at
                    AND NEW.confirmation IS NOT DISTINCT FROM OLD.confirmation)) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'A consent record keeps what was given: only an awaited consent''s confirmation, or making it void, may be written, once.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_consentrecord_guard BEFORE INSERT OR UPDATE ON public.contacts_consentrecord
    FOR EACH ROW EXECUTE FUNCTION public.contacts_guard_consentrecord();

-- A record is kept at least four years (the time within which a TCPA claim can be brought)
-- after it was recorded and after it was made void, and as long as a contact has its number:
-- `manage.py purge_consent_records` deletes older ones after CONSENT_RETENTION_YEARS.
CREATE OR REPLACE FUNCTION public.contacts_keep_consentrecord() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.recorded_at < now() - interval '4 years'
            AND COALESCE(OLD.voided_at, OLD.recorded_at) < now() - interval '4 years'
            AND NOT EXISTS (SELECT 1 FROM public.contacts_contact c WHERE c.phone = OLD.phone) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'A consent record is kept for at least four years, and while a contact has its number.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_consentrecord_kept BEFORE DELETE ON public.contacts_consentrecord
    FOR EACH ROW EXECUTE FUNCTION public.contacts_keep_consentrecord();

CREATE TRIGGER contacts_consentrecord_no_truncate BEFORE TRUNCATE ON public.contacts_consentrecord
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_keep_consentrecord();

-- A number's records changed (one given, confirmed or made void): its contacts' consent on
-- record is worked out again (contacts_contact_consent, contacts_contact.sql). A record is
-- deleted only once no contact has its number.
CREATE OR REPLACE FUNCTION public.contacts_consent_on_contacts() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE public.contacts_contact c
        SET sms_consent_on_record = n.sms, calls_consent_on_record = n.calls
        FROM (SELECT changed.phone, COALESCE(bool_or(r.channel = 'sms'), FALSE) AS sms,
                COALESCE(bool_or(r.channel = 'calls'), FALSE) AS calls
            FROM (SELECT DISTINCT phone FROM changed_records) changed
            LEFT JOIN public.contacts_consentrecord r
                ON r.phone = changed.phone AND r.status = 'confirmed'
            GROUP BY changed.phone) n
        WHERE c.phone = n.phone
        AND (c.sms_consent_on_record <> n.sms OR c.calls_consent_on_record <> n.calls);
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_consentrecord_added AFTER INSERT ON public.contacts_consentrecord
    REFERENCING NEW TABLE AS changed_records
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_consent_on_contacts();

CREATE TRIGGER contacts_consentrecord_changed AFTER UPDATE ON public.contacts_consentrecord
    REFERENCING NEW TABLE AS changed_records
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_consent_on_contacts();
