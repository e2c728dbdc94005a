-- 0001_init (SQLite): the account store of gemini-gateway.
--
-- Times are INTEGER unix milliseconds, NULL when unset; booleans are INTEGER
-- 0/1. STRICT makes SQLite refuse values of the wrong type, as PostgreSQL
-- would. No column holds a cookie or csesidx: secrets live in a SecretStore,
-- and only as ciphertext in sealed_secrets.

-- accounts mirrors the Python gateway's gemini_accounts where a column still
-- carries meaning (is_active -> enabled, health_status -> status,
-- health_check_time -> last_check_at, network_error_count -> network_errors,
-- last_network_error_time -> last_network_error_at), plus the fields of
-- accounts.Account.
CREATE TABLE accounts (
    -- AUTOINCREMENT: ids of deleted accounts are never handed out again, so
    -- a stale id held by a session map or a UI can never name a new account.
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT    NOT NULL,
    -- name_key is the case-folded name, computed in Go so both engines agree
    -- on which names collide (SQLite's lower() only folds ASCII).
    name_key              TEXT    NOT NULL,
    config_id             TEXT    NOT NULL DEFAULT '',
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason       TEXT    NOT NULL DEFAULT '',
    user_agent            TEXT    NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    last_used_at          INTEGER,
    request_count         INTEGER NOT NULL DEFAULT 0,
    status                TEXT    NOT NULL DEFAULT 'unknown',
    status_reason         TEXT    NOT NULL DEFAULT '',
    last_check_at         INTEGER,
    last_check_ok         INTEGER NOT NULL DEFAULT 0 CHECK (last_check_ok IN (0, 1)),
    last_check_latency_ms INTEGER NOT NULL DEFAULT 0,
    last_check_message    TEXT    NOT NULL DEFAULT '',
    cooldown_until        INTEGER,
    cooldown_reason       TEXT    NOT NULL DEFAULT '',
    network_errors        INTEGER NOT NULL DEFAULT 0,
    last_network_error_at INTEGER,
    secret_backend        TEXT    NOT NULL DEFAULT '',
    -- NULL when an account has no secrets of its own; UNIQUE because two
    -- accounts sharing one ref would delete each other's secrets.
    secret_ref            TEXT,
    hint_secure_c_ses     TEXT    NOT NULL DEFAULT '',
    hint_host_c_oses      TEXT    NOT NULL DEFAULT '',
    hint_csesidx          TEXT    NOT NULL DEFAULT '',
    CONSTRAINT accounts_name_key_uq UNIQUE (name_key),
    CONSTRAINT accounts_secret_ref_uq UNIQUE (secret_ref)
) STRICT;

-- secret_journal lists secret refs that may exist in a SecretStore without an
-- account pointing at them (see accounts.Manager.Recover).
CREATE TABLE secret_journal (
    ref        TEXT    PRIMARY KEY,
    backend    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- sealed_secrets holds the AEAD ciphertext of the sealed keystore backend.
CREATE TABLE sealed_secrets (
    ref        TEXT    PRIMARY KEY,
    blob       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- meta is a small key/value table (for example the sealed keystore's key
-- check value).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
