-- The `refreshed` activity sampling interval was a number in the trigger (3600000);
-- the server now passes the threshold with each spend, so the interval has one source
-- (the server's code). The trigger is otherwise unchanged.
ALTER TABLE refresh_tokens ADD COLUMN spent_sample_before BIGINT;

DROP TRIGGER refresh_token_rotated;

CREATE TRIGGER refresh_token_rotated
AFTER UPDATE OF spent_at ON refresh_tokens
FOR EACH ROW
WHEN OLD.spent_at IS NULL AND NEW.spent_at IS NOT NULL AND NEW.successor_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, session_id, issued_at)
    VALUES (NEW.successor_hash, NEW.session_id, NEW.spent_at);
    INSERT INTO activity (user_id, at, kind, session_id, device, ip)
    SELECT user_id, NEW.spent_at, 'refreshed', id,
           json_object('name', device_name, 'platform', platform,
                       'os_version', os_version, 'app_version', app_version),
           NEW.spent_ip
    FROM sessions
    WHERE id = NEW.session_id AND last_seen_at <= NEW.spent_sample_before;
    UPDATE sessions
    SET last_seen_at = NEW.spent_at,
        last_ip = NEW.spent_ip,
        idle_expires_at = MIN(NEW.spent_idle_until, expires_at)
    WHERE id = NEW.session_id AND revoked_at IS NULL;
END;
