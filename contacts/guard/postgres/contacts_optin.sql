-- Opt-ins (contacts_optin): only a START (SMS) or a digit (calls) from a valid number is
-- recorded; after that only `applied` may turn on.

-- The opt-in's words are trimmed of the characters quoted after `NEW.words`: whitespace (as
-- Python's str.strip removes it) and punctuation, written raw, line breaks included. Keep
-- them byte for byte: tests/contacts/test_guard_sql.py compares string literals exactly.
CREATE OR REPLACE FUNCTION public.contacts_guard_optin() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.applied OR NOT (
                NEW.phone ~ '^\+(1[2-9][0-9]{2}[2-9][0-9]{6}|[2-9][0-9]{6,14})\Z'
                AND ((NEW.channel = 'sms' AND NEW.source = 'keyword'
                        AND upper(trim(NEW.words, ' 	
             ​    　﻿.,;:!?¡¿''"()[]{}-_*~…')) IN ('START', 'UNSTOP', 'YES'))
                    OR (NEW.channel = 'calls' AND NEW.source = 'digit'
                        AND NEW.words ~ '^pressed [0-9*#]$'))) THEN
            RAISE EXCEPTION 'An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for calls, from a valid number; once recorded it cannot be changed or deleted.' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        NEW.at := now();
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' AND NOT (OLD.applied OR NOT NEW.applied
            OR NEW.id IS DISTINCT FROM OLD.id OR NEW.phone IS DISTINCT FROM OLD.phone
            OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.source IS DISTINCT FROM OLD.source
            OR NEW.words IS DISTINCT FROM OLD.words OR NEW.reference IS DISTINCT FROM OLD.reference
            OR NEW.at IS DISTINCT FROM OLD.at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for calls, from a valid number; once recorded it cannot be changed or deleted.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_optin_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.contacts_optin
    FOR EACH ROW EXECUTE FUNCTION public.contacts_guard_optin();

CREATE OR REPLACE FUNCTION public.contacts_refuse_opt_in_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for calls, from a valid number; once recorded it cannot be changed or deleted.' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER contacts_optin_no_truncate
    BEFORE TRUNCATE ON public.contacts_optin
    FOR EACH STATEMENT EXECUTE FUNCTION public.contacts_refuse_opt_in_change();
