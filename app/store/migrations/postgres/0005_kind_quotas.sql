-- 0005_kind_quotas (PostgreSQL): per-kind quotas of the accounts, shared
-- by every instance on this database, so a restart or a second instance
-- never spends quota the upstream has already refused.
--
-- Same tables as migrations/sqlite/0005_kind_quotas.sql: kind_turns counts
-- the turns of one kind ('text', 'image', 'video') an account served on
-- one day, the writing gateway's local date (YYYY-MM-DD, as usage_days),
-- added in SQL (INSERT … ON CONFLICT DO UPDATE SET turns = turns +
-- excluded.turns) so instances add up; kind_cooldowns keeps an account
-- from one kind until a time.
--
-- No foreign key to accounts: the environment's account (id 0) has no
-- row there, and ids are never reused, so a deleted account's rows name
-- nobody.
CREATE TABLE kind_turns (
    day        TEXT   NOT NULL,
    account_id BIGINT NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    turns      BIGINT NOT NULL DEFAULT 0 CHECK (turns >= 0),
    PRIMARY KEY (day, account_id, kind)
);

CREATE TABLE kind_cooldowns (
    account_id BIGINT      NOT NULL,
    kind       TEXT        NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    until_at   TIMESTAMPTZ NOT NULL,
    reason     TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, kind)
);
