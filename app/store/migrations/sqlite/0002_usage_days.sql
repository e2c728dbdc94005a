-- 0002_usage_days (SQLite): chat requests per day, for the Overview's
-- "requests today" across restarts. day is the gateway's local date,
-- YYYY-MM-DD.
CREATE TABLE usage_days (
    day      TEXT    PRIMARY KEY,
    requests INTEGER NOT NULL DEFAULT 0 CHECK (requests >= 0)
) STRICT;
