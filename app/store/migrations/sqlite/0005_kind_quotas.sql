-- 0005_kind_quotas (SQLite): per-kind quotas of the accounts, so a restart
-- (or another process on the same database) never forgets what the
-- upstream has already refused.
--
-- kind_turns counts the turns of one kind ('text', 'image', 'video') an
-- account served on one day, the gateway's local date (YYYY-MM-DD, as
-- usage_days). Counts are added in SQL (INSERT … ON CONFLICT DO UPDATE SET
-- turns = turns + excluded.turns). kind_cooldowns keeps an account from
-- one kind until a time (INTEGER unix milliseconds, as in 0001_init).
--
-- No foreign key to accounts: the environment's account (id 0) has no
-- row there, and ids are never reused, so a deleted account's rows name
-- nobody.
CREATE TABLE kind_turns (
    day        TEXT    NOT NULL,
    account_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    turns      INTEGER NOT NULL DEFAULT 0 CHECK (turns >= 0),
    PRIMARY KEY (day, account_id, kind)
) STRICT;

CREATE TABLE kind_cooldowns (
    account_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    until_at   INTEGER NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, kind)
) STRICT;
