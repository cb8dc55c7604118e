-- After a scare: password changes, two-step sign-in, wipe receipts.

-- Two-step sign-in (TOTP). The secret is sealed under the KEK (see seal.rs), like the
-- signing keys. `two_step_pending` holds a secret being enrolled, until its first code
-- confirms it; `two_step_last_step` is the last 30-second step a code was accepted for,
-- so a code is accepted once.
ALTER TABLE accounts ADD COLUMN two_step_secret BLOB;
ALTER TABLE accounts ADD COLUMN two_step_pending BLOB;
ALTER TABLE accounts ADD COLUMN two_step_last_step BIGINT;

-- Recovery codes, only as SHA-256 (each has 80 random bits); each works once.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hash    BLOB NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
);

-- A sign-in whose password was right, waiting for its second step. Only the hash of the
-- opaque challenge is kept; the device and address are those of the first step.
CREATE TABLE signin_challenges (
    hash       BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device     TEXT NOT NULL,
    ip         TEXT,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    failures   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signin_challenges_by_expiry ON signin_challenges (expires_at);

-- The signed-out device's receipt: it erased its keys (first receipt wins).
ALTER TABLE sessions ADD COLUMN wiped_at BIGINT;
ALTER TABLE sessions ADD COLUMN wiped_ip TEXT;
CREATE INDEX sessions_signed_out_by_user ON sessions (user_id, revoked_at) WHERE revoked_at IS NOT NULL;
