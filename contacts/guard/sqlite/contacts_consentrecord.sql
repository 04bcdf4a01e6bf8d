-- Consent records (contacts_consentrecord): what was given stays as it was given; only an
-- awaited consent's confirmation and a record's voiding may be written, once each. A record
-- cannot be replaced.
-- SQLite has no trigger functions: each trigger holds its SQL.

CREATE TRIGGER contacts_consentrecord_guard_update BEFORE UPDATE ON contacts_consentrecord
    FOR EACH ROW WHEN NOT (NEW.id IS OLD.id AND NEW.phone IS OLD.phone
        AND NEW.channel IS OLD.channel AND NEW.method IS OLD.method
        AND NEW.given_at IS OLD.given_at AND NEW.recorded_at IS OLD.recorded_at
        AND NEW.contact_id IS OLD.contact_id AND NEW.recorded_by_id IS OLD.recorded_by_id
        AND NEW.disclosure_id IS OLD.disclosure_id AND NEW.words IS OLD.words
        AND NEW.reference IS OLD.reference
        AND ((OLD.status = 'awaiting' AND NEW.status = 'confirmed'
                AND OLD.confirmed_at IS NULL AND NEW.confirmed_at IS NOT NULL
                AND NEW.confirmation <> '' AND NEW.voided_at IS OLD.voided_at
                AND NEW.void_reason IS OLD.void_reason)
            OR (OLD.status IN ('awaiting', 'confirmed') AND NEW.status = 'void'
                AND NEW.voided_at IS NOT NULL AND NEW.void_reason <> ''
                AND NEW.confirmed_at IS OLD.confirmed_at
                AND NEW.confirmation IS OLD.confirmation)))
BEGIN
    SELECT RAISE(ABORT, 'A consent record keeps what was given: only an awaited consent''s confirmation, or making it void, may be written, once.');
END;

CREATE TRIGGER contacts_consentrecord_no_replace BEFORE INSERT ON contacts_consentrecord
    FOR EACH ROW WHEN EXISTS (SELECT 1 FROM contacts_consentrecord WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'A consent record keeps what was given: it cannot be replaced.');
END;

-- A record is kept at least four years (the time within which a TCPA claim can be brought)
-- after it was recorded and after it was made void, and as long as a contact has its number:
-- `manage.py purge_consent_records` deletes older ones after CONSENT_RETENTION_YEARS.
CREATE TRIGGER contacts_consentrecord_kept BEFORE DELETE ON contacts_consentrecord
    FOR EACH ROW WHEN NOT (
        OLD.recorded_at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-4 years')
        AND COALESCE(OLD.voided_at, OLD.recorded_at)
            < strftime('%Y-%m-%d %H:%M:%f', 'now', '-4 years')
        AND NOT EXISTS (SELECT 1 FROM contacts_contact c WHERE c.phone = OLD.phone))
BEGIN
    SELECT RAISE(ABORT, 'A consent record is kept for at least four years, and while a contact has its number.');
END;

-- A number's records changed (one given, confirmed or made void): its contacts' consent on
-- record is worked out again (as contacts_contact_consent does, contacts_contact.sql). A record
-- is deleted only once no contact has its number.
CREATE TRIGGER contacts_consentrecord_added AFTER INSERT ON contacts_consentrecord
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE phone = NEW.phone;
END;

CREATE TRIGGER contacts_consentrecord_changed AFTER UPDATE ON contacts_consentrecord
    FOR EACH ROW WHEN 1
BEGIN
    UPDATE contacts_contact SET
        sms_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'sms' AND r.status = 'confirmed'),
        calls_consent_on_record = EXISTS (SELECT 1 FROM contacts_consentrecord r
            WHERE r.phone = NEW.phone AND r.channel = 'calls' AND r.status = 'confirmed')
        WHERE phone = NEW.phone;
END;
