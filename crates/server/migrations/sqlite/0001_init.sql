-- Times are integer milliseconds since the Unix epoch (UTC); ids are UUID strings.
-- The PostgreSQL twin of this file must stay equivalent.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,      -- trimmed, lower-cased
    password_hash TEXT NOT NULL,             -- argon2id PHC string
    created_at    BIGINT NOT NULL,
    not_before    BIGINT                     -- sign-out-everywhere instant
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_name     TEXT NOT NULL,
    platform        TEXT NOT NULL,
    os_version      TEXT NOT NULL,
    app_version     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    last_ip         TEXT,
    idle_expires_at BIGINT NOT NULL,          -- pushed forward by every refresh
    expires_at      BIGINT NOT NULL,          -- absolute end, never moves
    revoked_at      BIGINT,
    revoked_reason  TEXT,
    revoked_by      TEXT
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Only hashes of refresh tokens. A spent token keeps its row so that presenting it
-- again is recognised as reuse; its successor is sealed with a key derived from the
-- spent token itself, so only its holder can open it during the retry grace window.
CREATE TABLE refresh_tokens (
    hash             BLOB PRIMARY KEY,
    session_id       TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    issued_at        BIGINT NOT NULL,
    spent_at         BIGINT,
    successor_hash   BLOB,
    successor_sealed BLOB
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_spent ON refresh_tokens (spent_at) WHERE spent_at IS NOT NULL;

-- The account's security history (GET /v1/activity).
CREATE TABLE activity (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT NOT NULL,
    at            BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    session_id    TEXT,
    device        TEXT,                       -- JSON snapshot of the device then
    ip            TEXT,
    by_session_id TEXT,
    reason        TEXT
);
CREATE INDEX activity_by_user ON activity (user_id, id);

-- The feed: revocations and device-stream events in commit order. Every instance
-- follows it to keep its denylist and its event streams current; entries go once
-- they can no longer matter (expires_at).
CREATE TABLE feed (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,                 -- session_revoked | token_revoked | account_not_before | event
    session_id TEXT,
    jti        TEXT,
    not_before BIGINT,
    expires_at BIGINT NOT NULL,
    event_name TEXT,                          -- SSE event name for device streams
    event      TEXT                           -- its JSON payload
);
CREATE INDEX feed_by_expiry ON feed (expires_at);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    secret     BLOB NOT NULL,                 -- Ed25519 seed
    created_at BIGINT NOT NULL,
    retired_at BIGINT                         -- stopped signing; public key kept until every token it signed expired
);
