-- 0003_account_lifecycle (PostgreSQL): when an account's sign-in dies.
--
-- Same columns as migrations/sqlite/0003_account_lifecycle.sql: expires_at
-- is the __Secure-C_SES cookie's own expiry (NULL: unknown);
-- last_sign_in_at and last_refresh_at are set by accounts.Manager's
-- SaveSignIn and SaveRefresh. The status 'needs_sign_in' needs no schema
-- change.
ALTER TABLE accounts ADD COLUMN expires_at      TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN last_sign_in_at TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN last_refresh_at TIMESTAMPTZ;
