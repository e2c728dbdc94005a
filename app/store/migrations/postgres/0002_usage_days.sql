-- 0002_usage_days (PostgreSQL): chat requests per day, summed over every
-- instance sharing the pool, for the Overview's "requests today". day is
-- the writing gateway's local date, YYYY-MM-DD.
CREATE TABLE usage_days (
    day      TEXT   PRIMARY KEY,
    requests BIGINT NOT NULL DEFAULT 0 CHECK (requests >= 0)
);
