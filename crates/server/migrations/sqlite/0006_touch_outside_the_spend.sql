-- A refresh's spend is now only the spend: the UPDATE of the token and, by this
-- trigger, its successor's row. Touching the session (last seen, idle end) and sampling
-- the `refreshed` activity happen a moment later, coalesced per session and batched
-- (store/touch.rs), so SQLite's single writer is not spent on them inside every spend.
DROP TRIGGER refresh_token_rotated;

CREATE TRIGGER refresh_token_rotated
AFTER UPDATE OF spent_at ON refresh_tokens
FOR EACH ROW
WHEN OLD.spent_at IS NULL AND NEW.spent_at IS NOT NULL AND NEW.successor_hash IS NOT NULL
BEGIN
    INSERT INTO refresh_tokens (hash, session_id, issued_at)
    VALUES (NEW.successor_hash, NEW.session_id, NEW.spent_at);
END;
