-- Refresh-token rotation in one statement (see the SQLite twin for why): the UPDATE
-- that spends a token fires this trigger, which stores the successor and touches the
-- session within the same statement.
ALTER TABLE refresh_tokens ADD COLUMN spent_ip TEXT;
ALTER TABLE refresh_tokens ADD COLUMN spent_idle_until BIGINT;

CREATE FUNCTION refresh_token_rotated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refresh_tokens (hash, session_id, issued_at)
    VALUES (NEW.successor_hash, NEW.session_id, NEW.spent_at);
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
