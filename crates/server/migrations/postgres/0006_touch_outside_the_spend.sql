-- A refresh's spend is now only the spend (see the SQLite twin): the trigger inserts the
-- successor; touching the session and sampling the activity are batched by the server.
CREATE OR REPLACE FUNCTION refresh_token_rotated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refresh_tokens (hash, session_id, issued_at)
    VALUES (NEW.successor_hash, NEW.session_id, NEW.spent_at);
    RETURN NEW;
END;
$$;
