-- 0001_init (PostgreSQL): the account store of gemini-gateway.
--
-- Same tables and columns as migrations/sqlite/0001_init.sql, with native
-- types: timestamptz (NULL when unset), boolean, bytea. No column holds a
-- cookie or csesidx: secrets live in a SecretStore, and only as ciphertext in
-- sealed_secrets.

-- accounts mirrors the Python gateway's gemini_accounts where a column still
-- carries meaning (is_active -> enabled, health_status -> status,
-- health_check_time -> last_check_at, network_error_count -> network_errors,
-- last_network_error_time -> last_network_error_at), plus the fields of
-- accounts.Account. The table is named accounts, not gemini_accounts, so it
-- can live beside the Python gateway's table during a migration.
CREATE TABLE accounts (
    -- An identity never hands out the id of a deleted account again.
    id                    BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  TEXT        NOT NULL,
    -- name_key is the case-folded name, computed in Go so both engines agree
    -- on which names collide.
    name_key              TEXT        NOT NULL,
    config_id             TEXT        NOT NULL DEFAULT '',
    enabled               BOOLEAN     NOT NULL DEFAULT TRUE,
    disabled_reason       TEXT        NOT NULL DEFAULT '',
    user_agent            TEXT        NOT NULL DEFAULT '',
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    last_used_at          TIMESTAMPTZ,
    request_count         BIGINT      NOT NULL DEFAULT 0,
    status                TEXT        NOT NULL DEFAULT 'unknown',
    status_reason         TEXT        NOT NULL DEFAULT '',
    last_check_at         TIMESTAMPTZ,
    last_check_ok         BOOLEAN     NOT NULL DEFAULT FALSE,
    last_check_latency_ms BIGINT      NOT NULL DEFAULT 0,
    last_check_message    TEXT        NOT NULL DEFAULT '',
    cooldown_until        TIMESTAMPTZ,
    cooldown_reason       TEXT        NOT NULL DEFAULT '',
    network_errors        INTEGER     NOT NULL DEFAULT 0,
    last_network_error_at TIMESTAMPTZ,
    secret_backend        TEXT        NOT NULL DEFAULT '',
    -- NULL when an account has no secrets of its own; UNIQUE because two
    -- accounts sharing one ref would delete each other's secrets.
    secret_ref            TEXT,
    hint_secure_c_ses     TEXT        NOT NULL DEFAULT '',
    hint_host_c_oses      TEXT        NOT NULL DEFAULT '',
    hint_csesidx          TEXT        NOT NULL DEFAULT '',
    CONSTRAINT accounts_name_key_uq UNIQUE (name_key),
    CONSTRAINT accounts_secret_ref_uq UNIQUE (secret_ref)
);

-- secret_journal lists secret refs that may exist in a SecretStore without an
-- account pointing at them (see accounts.Manager.Recover).
CREATE TABLE secret_journal (
    ref        TEXT        PRIMARY KEY,
    backend    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- sealed_secrets holds the AEAD ciphertext of the sealed keystore backend.
CREATE TABLE sealed_secrets (
    ref        TEXT        PRIMARY KEY,
    blob       BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- meta is a small key/value table (for example the sealed keystore's key
-- check value).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
