-- 0004_client_keys_usage (SQLite): named client keys and usage per day.
--
-- client_keys holds only the SHA-256 of each key (a key is 256 random
-- bits, shown once when made) and a short hint. A revoked key keeps its row
-- (revoked_at set) so its name stays in the usage history. Times are INTEGER unix milliseconds, NULL when unset.
CREATE TABLE client_keys (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL,
    -- name_key is the case-folded name (computed in Go, as accounts.name_key).
    name_key            TEXT    NOT NULL,
    key_hash            BLOB    NOT NULL,
    key_hint            TEXT    NOT NULL DEFAULT '',
    requests_per_minute INTEGER NOT NULL DEFAULT 0 CHECK (requests_per_minute >= 0),
    -- models: the allowed model ids, comma-separated; '' = all.
    models              TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    rotated_at          INTEGER,
    revoked_at          INTEGER,
    CONSTRAINT client_keys_hash_uq UNIQUE (key_hash)
) STRICT;
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
    requests          INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    images_in         INTEGER NOT NULL DEFAULT 0,
    files_out         INTEGER NOT NULL DEFAULT 0,
    ttft_h00         INTEGER NOT NULL DEFAULT 0,
    ttft_h01         INTEGER NOT NULL DEFAULT 0,
    ttft_h02         INTEGER NOT NULL DEFAULT 0,
    ttft_h03         INTEGER NOT NULL DEFAULT 0,
    ttft_h04         INTEGER NOT NULL DEFAULT 0,
    ttft_h05         INTEGER NOT NULL DEFAULT 0,
    ttft_h06         INTEGER NOT NULL DEFAULT 0,
    ttft_h07         INTEGER NOT NULL DEFAULT 0,
    ttft_h08         INTEGER NOT NULL DEFAULT 0,
    ttft_h09         INTEGER NOT NULL DEFAULT 0,
    ttft_h10         INTEGER NOT NULL DEFAULT 0,
    ttft_h11         INTEGER NOT NULL DEFAULT 0,
    ttft_h12         INTEGER NOT NULL DEFAULT 0,
    ttft_h13         INTEGER NOT NULL DEFAULT 0,
    ttft_h14         INTEGER NOT NULL DEFAULT 0,
    ttft_h15         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, client, account, model)
) STRICT;
