// Package fakeupstream is an in-process imitation of Google's private
// "Gemini Business widget" protocol (see docs/upstream-protocol.md), the one test double every test and benchmark of the gateway runs
// against, because the real upstream cannot be reached from tests.
//
// It serves the three real hosts on one HTTP server under distinct path
// prefixes, so a client that sends a call to the wrong base URL fails loudly:
//
//	<base>/business  GET  /auth/getoxsrf?csesidx=N          (cookies → signing key)
//	<base>/business  GET  /refreshcookies?continue=URL      (re-issues stale cookies)
//	<base>/auth      GET  /list-sessions?csesidx=N&rt=json   (cheap account probe)
//	<base>/api       POST /v1alpha/locations/global/widget*  (JWT-protected data plane)
//	<base>/api       GET  /v1alpha/{session}:downloadFile and /download/v1alpha/{session}:downloadFile
//
// The fake deliberately shares no code with the real client in
// gateway/upstream: it verifies JWTs, declares its JSON types and writes its
// bodies on its own, so a misunderstanding of the protocol made in one of
// them is caught by the other instead of passing every test.
//
// Realism where it matters for a client: streamAssist bodies are one JSON
// array written element by element with randomised separators and
// whitespace, optionally split into tiny writes that cut multi-byte UTF-8
// characters, flushed as they go; failures come as HTTP errors, as error
// objects inside a 200 array, as truncated connections or as streams that
// stall. Scenarios are picked per call (see Server.QueueScenario, the
// "[scenario:NAME]" directive, Account.Scenario and Options.DefaultScenario).
//
// Sign-in lifecycle (lifecycle.go; off by default): Options.SignInLifetime
// is a sign-in's hard limit (then getoxsrf answers 401 EXPIRED_SIGN_IN),
// Options.CookieStaleAfter the age at which getoxsrf redirects to
// refreshcookies, which re-issues both cookies (Set-Cookie with Expires,
// Secure, HttpOnly, Path=/; __Secure-C_SES on .business.gemini.google for
// requests to that host, host-only elsewhere), Options.RotationGrace how
// long rotated-away cookies still work. A fake sign-in site builds on
// Server.SignIn(configID) (a new sign-in: new csesidx and cookies, same
// config id), Server.RefreshCookies(cookie) (what the refreshcookies page
// does), Server.CookieState(cookie), Server.AccountByConfig,
// Server.Lifecycle (counts) and SetCookies (the Set-Cookie headers).
// Options.Now drives every lifecycle time, so tests use a fake clock.
//
// All state hangs off a Server; it is safe for concurrent use.
package fakeupstream
