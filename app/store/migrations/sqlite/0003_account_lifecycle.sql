-- 0003_account_lifecycle (SQLite): when an account's sign-in dies.
--
-- expires_at is the __Secure-C_SES cookie's own expiry (NULL: unknown);
-- last_sign_in_at and last_refresh_at are set by accounts.Manager's
-- SaveSignIn and SaveRefresh. Times are INTEGER unix milliseconds, as in
-- 0001_init. The status 'needs_sign_in' needs no schema change.
ALTER TABLE accounts ADD COLUMN expires_at      INTEGER;
ALTER TABLE accounts ADD COLUMN last_sign_in_at INTEGER;
ALTER TABLE accounts ADD COLUMN last_refresh_at INTEGER;
