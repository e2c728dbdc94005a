-- 0004_client_keys_usage (PostgreSQL): named client keys and usage per day.
--
-- client_keys holds only the SHA-256 of each key (a key is 256 random
-- bits, shown once when made) and a short hint. A revoked key keeps its row
-- (revoked_at set) so its name stays in the usage history. 
CREATE TABLE client_keys (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                TEXT    NOT NULL,
    -- name_key is the case-folded name (computed in Go, as accounts.name_key).
    name_key            TEXT    NOT NULL,
    key_hash            BYTEA    NOT NULL,
    key_hint            TEXT    NOT NULL DEFAULT '',
    requests_per_minute BIGINT NOT NULL DEFAULT 0 CHECK (requests_per_minute >= 0),
    -- models: the allowed model ids, comma-separated; '' = all.
    models              TEXT    NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    rotated_at          TIMESTAMPTZ,
    revoked_at          TIMESTAMPTZ,
    CONSTRAINT client_keys_hash_uq UNIQUE (key_hash)
);
-- Names are unique among the keys in use; a revoked key's name is free.
CREATE UNIQUE INDEX client_keys_live_name_uq ON client_keys (name_key) WHERE revoked_at IS NULL;

-- usage_client_days counts chat requests per day (the writing gateway's
-- local date, YYYY-MM-DD), client key name ('' without a key), account
-- name and model. Every column is a sum, added in SQL (INSERT … ON
-- CONFLICT DO UPDATE SET x = x + excluded.x), so instances sharing a
-- PostgreSQL database add up. Time to first token is a histogram with
-- fixed bucket bounds (gateway's usage.go, ttftBounds: 100, 200, 300, 500,
-- 750, 1000, 1500, 2000, 3000, 5000, 8000, 13000, 20000, 30000, 60000 ms,
-- then above): histograms add, so percentiles stay right across instances.
CREATE TABLE usage_client_days (
    day               TEXT    NOT NULL,
    client            TEXT    NOT NULL,
    account           TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    requests          BIGINT NOT NULL DEFAULT 0,
    errors            BIGINT NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    images_in         BIGINT NOT NULL DEFAULT 0,
    files_out         BIGINT NOT NULL DEFAULT 0,
    ttft_h00         BIGINT NOT NULL DEFAULT 0,
    ttft_h01         BIGINT NOT NULL DEFAULT 0,
    ttft_h02         BIGINT NOT NULL DEFAULT 0,
    ttft_h03         BIGINT NOT NULL DEFAULT 0,
    ttft_h04         BIGINT NOT NULL DEFAULT 0,
    ttft_h05         BIGINT NOT NULL DEFAULT 0,
    ttft_h06         BIGINT NOT NULL DEFAULT 0,
    ttft_h07         BIGINT NOT NULL DEFAULT 0,
    ttft_h08         BIGINT NOT NULL DEFAULT 0,
    ttft_h09         BIGINT NOT NULL DEFAULT 0,
    ttft_h10         BIGINT NOT NULL DEFAULT 0,
    ttft_h11         BIGINT NOT NULL DEFAULT 0,
    ttft_h12         BIGINT NOT NULL DEFAULT 0,
    ttft_h13         BIGINT NOT NULL DEFAULT 0,
    ttft_h14         BIGINT NOT NULL DEFAULT 0,
    ttft_h15         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, client, account, model)
);
