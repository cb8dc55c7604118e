-- Refresh-token rotation in one statement (see the SQLite twin for why): the UPDATE
-- that spends a token fires this trigger, which stores the successor, records a sampled
-- `refreshed` activity entry (at most one per session per hour) and touches the session
-- within the same statement.
ALTER TABLE refresh_tokens ADD COLUMN spent_ip TEXT;
ALTER TABLE refresh_tokens ADD COLUMN spent_idle_until BIGINT;

CREATE FUNCTION refresh_token_rotated() RETURNS trigger
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
    WHERE id = NEW.session_id AND last_seen_at <= NEW.spent_at - 3600000;
    UPDATE sessions
    SET last_seen_at = NEW.spent_at,
        last_ip = NEW.spent_ip,
        idle_expires_at = LEAST(NEW.spent_idle_until, expires_at)
    WHERE id = NEW.session_id AND revoked_at IS NULL;
    RETURN NEW;
END;
$$;

CREATE TRIGGER refresh_token_rotated
AFTER UPDATE OF spent_at ON refresh_tokens
FOR EACH ROW
WHEN (OLD.spent_at IS NULL AND NEW.spent_at IS NOT NULL AND NEW.successor_hash IS NOT NULL)
EXECUTE FUNCTION refresh_token_rotated();
