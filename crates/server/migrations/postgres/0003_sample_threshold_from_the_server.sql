-- The `refreshed` activity sampling interval was a number in the trigger (3600000);
-- the server now passes the threshold with each spend, so the interval has one source
-- (the server's code). See the SQLite twin.
ALTER TABLE refresh_tokens ADD COLUMN spent_sample_before BIGINT;

CREATE OR REPLACE FUNCTION refresh_token_rotated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refresh_tokens (hash, session_id, issued_at)
    VALUES (NEW.successor_hash, NEW.session_id, NEW.spent_at);
    INSERT INTO activity (user_id, at, kind, session_id, device, ip)
    SELECT user_id, NEW.spent_at, 'refreshed', id,
           json_build_object('name', device_name, 'platform', platform,
                             'os_version', os_version, 'app_version', app_version)::text,
           NEW.spent_ip
    FROM sessions
    WHERE id = NEW.session_id AND last_seen_at <= NEW.spent_sample_before;
    UPDATE sessions
    SET last_seen_at = NEW.spent_at,
        last_ip = NEW.spent_ip,
        idle_expires_at = LEAST(NEW.spent_idle_until, expires_at)
    WHERE id = NEW.session_id AND revoked_at IS NULL;
    RETURN NEW;
END;
$$;
