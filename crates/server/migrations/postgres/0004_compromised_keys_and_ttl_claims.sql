-- A compromised signing key is removed at once (`keys retire <kid>`): not merely
-- retired (still verifying until its tokens expire) but refused everywhere. The feed
-- carries the removal to every instance and guard.
ALTER TABLE signing_keys ADD COLUMN removed_at BIGINT;
ALTER TABLE feed ADD COLUMN kid TEXT;

-- Each running instance says how long its access tokens live, so commands run beside
-- them (admin revoke-user) keep revocations as long as the longest of them needs.
CREATE TABLE access_ttl_claims (
    instance TEXT PRIMARY KEY,
    ttl_ms   BIGINT NOT NULL,
    seen_at  BIGINT NOT NULL
);
