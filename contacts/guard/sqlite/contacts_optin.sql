-- Opt-ins (contacts_optin): only a START (SMS) or a digit (calls) from a valid number is
-- recorded; after that only `applied` may turn on.
-- SQLite has no trigger functions: each trigger holds its SQL.

-- The opt-in's words are trimmed of the characters quoted after `NEW.words`: whitespace (as
-- Python's str.strip removes it) and punctuation, written raw, line breaks included. Keep
-- them byte for byte: tests/contacts/test_guard_sql.py compares string literals exactly.
CREATE TRIGGER contacts_optin_insert BEFORE INSERT ON contacts_optin
    FOR EACH ROW WHEN NEW.applied OR NOT (
        (NEW.phone GLOB '+1[2-9][0-9][0-9][2-9][0-9][0-9][0-9][0-9][0-9][0-9]'
            OR (NEW.phone GLOB '+[2-9]*' AND substr(NEW.phone, 2) NOT GLOB '*[^0-9]*'
                AND length(NEW.phone) BETWEEN 8 AND 16))
        AND ((NEW.channel = 'sms' AND NEW.source = 'keyword'
                AND upper(trim(NEW.words, ' 	
             ​    　﻿.,;:!?¡¿''"()[]{}-_*~…')) IN ('START', 'UNSTOP', 'YES'))
            OR (NEW.channel = 'calls' AND NEW.source = 'digit'
                AND (NEW.words GLOB 'pressed [0-9*#]')))) OR EXISTS (SELECT 1 FROM contacts_optin i WHERE i.id = NEW.id OR i.reference = NEW.reference)
BEGIN
    SELECT RAISE(ABORT, 'An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for calls, from a valid number; once recorded it cannot be changed or deleted.');
END;

CREATE TRIGGER contacts_optin_update BEFORE UPDATE ON contacts_optin
    FOR EACH ROW WHEN (OLD.applied OR NOT NEW.applied
        OR NEW.id IS DISTINCT FROM OLD.id OR NEW.phone IS DISTINCT FROM OLD.phone
        OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.source IS DISTINCT FROM OLD.source
        OR NEW.words IS DISTINCT FROM OLD.words OR NEW.reference IS DISTINCT FROM OLD.reference
        OR NEW.at IS DISTINCT FROM OLD.at)
BEGIN
    SELECT RAISE(ABORT, 'An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for calls, from a valid number; once recorded it cannot be changed or deleted.');
END;

CREATE TRIGGER contacts_optin_delete BEFORE DELETE ON contacts_optin
    FOR EACH ROW WHEN 1
BEGIN
    SELECT RAISE(ABORT, 'An opt-in is an SMS START (or UNSTOP, YES) for SMS, or a digit pressed on a call for calls, from a valid number; once recorded it cannot be changed or deleted.');
END;
