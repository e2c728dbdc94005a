package app

import (
	"errors"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
)

// The setting groups: the Settings panel's cards in this order, and the
// headings of -help and README's table.
const (
	groupGateway  = "Gateway"
	groupAccounts = "Accounts"
	groupHealth   = "Health checks"
	groupUpstream = "Upstream"
	groupDesktop  = "Desktop"
	groupMedia    = "Media"
)

// Settings lists every variable, group by group; within a group the
// Settings panel's rows come first, in the panel's order. Defaults come
// from Defaults() (the packages' DefaultConfig), never from this table.
func Settings() []Setting {
	var all []Setting
	for _, g := range [][]Setting{gatewaySettings(), accountSettings(), healthSettings(),
		upstreamSettings(), desktopSettings(), mediaSettings()} {
		all = append(all, g...)
	}
	return all
}

func gatewaySettings() []Setting {
	g := func(s Setting) Setting { s.Group = groupGateway; return s }
	return []Setting{
		g(Setting{Name: "HOST", Flag: "host", Label: "Listen address", Applies: AppliesListener,
			Help:  "address to listen on; anything but loopback needs API_KEY",
			at:    func(c *Config) any { return &c.Gateway.Host },
			check: checkHost}),
		g(Setting{Name: "PORT", Flag: "port", Label: "Port", Kind: KindNumber, Max: 65535, Applies: AppliesListener, // 0: any free port
			Help: "port of the OpenAI-compatible API", at: func(c *Config) any { return &c.Gateway.Port }}),
		g(Setting{Name: "API_KEY", Label: "API key", Secret: true,
			Help: "a client key (listed as API_KEY) besides those made in the Clients panel or the admin API",
			at:   func(c *Config) any { return &c.Gateway.APIKey }}),
		g(Setting{Name: "ALLOW_KEYLESS_LOOPBACK", Kind: KindBool,
			Label: "Let programs on this computer in without a key (only while no client key exists)",
			Help:  "serve /v1 without a key on loopback while no client key exists (any local user can then use your accounts)",
			at:    func(c *Config) any { return &c.Gateway.AllowKeylessLoopback }}),
		g(Setting{Name: "REASONING_OUTPUT", Label: "Reasoning output", Kind: KindChoice,
			Options: []string{gateway.ReasoningField, gateway.ReasoningThink, gateway.ReasoningOff},
			Help:    "reasoning_content, think (<think> tags) or off", at: func(c *Config) any { return &c.Gateway.Reasoning }}),
		g(Setting{Name: "DEFAULT_MODEL", Label: "Default model",
			Help: "model used when a request names none", at: func(c *Config) any { return &c.Gateway.DefaultModel }}),
		g(Setting{Name: "MODEL_STICKINESS", Label: "Model stickiness", Kind: KindBool,
			Help: "serve a client's background gemini-2.5 jobs with its gemini-3 chat model",
			at:   func(c *Config) any { return &c.Gateway.ModelStickiness }}),
		g(Setting{Name: "CORS_ORIGINS", Label: "Browser origins allowed (CORS)",
			Help: "browser origins allowed (comma-separated; chrome-extension://* style patterns)",
			at:   func(c *Config) any { return &c.Gateway.CORSOrigins }}),
		g(Setting{Name: "ALLOWED_HOSTS", Label: "Extra Host names",
			Help: "extra Host names accepted (comma-separated; * = any)", at: func(c *Config) any { return &c.Gateway.AllowedHosts }}),
		g(Setting{Name: "KEEPALIVE_INTERVAL", Label: "Keep-alive interval", Kind: KindDuration,
			Help: "empty chunk after this much upstream silence", at: func(c *Config) any { return &c.Gateway.KeepAlive }}),
		g(Setting{Name: "MODEL_ALIASES", Label: "Model names of other vendors (claude-*=gemini-2.5-pro)",
			Help: "model names clients hard-wire, mapped to this gateway's models: claude-*=gemini-2.5-pro,gpt-5*=gemini-2.5-pro (a * ends a prefix)",
			at:   func(c *Config) any { return &c.Gateway.ModelAliases },
			set: func(c *Config, v string) (err error) {
				c.Gateway.ModelAliases, err = gateway.ParseModelAliases(v)
				return err
			}}),
		g(Setting{Name: "MODEL_FALLBACK", Label: "Serve refused models with the nearest one", Kind: KindBool,
			Help: "serve a request for a model the upstream refuses with the nearest available one",
			at:   func(c *Config) any { return &c.Gateway.ModelFallback }}),
		g(Setting{Name: "MODEL_RECHECK", Label: "Try a refused model again after", Kind: KindDuration,
			Help: "how long a model the upstream refused stays marked unavailable", at: func(c *Config) any { return &c.Gateway.ModelRecheck }}),
		g(Setting{Name: "MODELS_FILE",
			Help: "a JSON model table served instead of the built-in one (the form of gateway/models.json); empty = built-in",
			at:   func(c *Config) any { return &c.ModelsFile },
			set: func(c *Config, v string) (err error) {
				c.ModelsFile = strings.TrimSpace(v)
				c.Gateway.Models, err = gateway.LoadModelsFile(c.ModelsFile)
				return err
			}}),
		g(Setting{Name: "ADMIN_KEY", Secret: true,
			Help: "Bearer key of the admin API (/api/admin/*, /debug/pprof/*); empty = the generated admin.key in the data dir",
			at:   func(c *Config) any { return &c.Gateway.AdminKey }}),
		g(Setting{Name: "MAX_BODY_BYTES", Kind: KindNumber, Min: 1024, Max: 1 << 30,
			Help: "largest request body", at: func(c *Config) any { return &c.Gateway.MaxBodyBytes }}),
		g(Setting{Name: "MAX_BODY_BYTES_IN_FLIGHT", Kind: KindNumber, Min: 1024, Max: 1 << 40,
			Help: "request-body bytes held at once by all requests together", at: func(c *Config) any { return &c.Gateway.MaxBodyBytesInFlight }}),
		g(Setting{Name: "READ_BODY_TIMEOUT", Kind: KindDuration,
			Help: "how long a client may take to send its request body", at: func(c *Config) any { return &c.Gateway.ReadBodyTimeout }}),
		g(Setting{Name: "MAX_CONCURRENT_PER_CLIENT", Kind: KindNumber, Max: 1_000_000,
			Help: "requests at once from one client key (one address without keys; 0 = unlimited)",
			at:   func(c *Config) any { return &c.Gateway.MaxConcurrentPerClient }}),
		g(Setting{Name: "READ_HEADER_TIMEOUT", Kind: KindDuration,
			Help: "how long a client may take to send its request headers", at: func(c *Config) any { return &c.Gateway.ReadHeaderTimeout }}),
		g(Setting{Name: "MAX_HEADER_BYTES", Kind: KindNumber, Min: 1024, Max: 1 << 24,
			Help: "largest request header block", at: func(c *Config) any { return &c.Gateway.MaxHeaderBytes }}),
		g(Setting{Name: "SHUTDOWN_GRACE", Kind: KindDuration,
			Help: "how long open streams may finish at shutdown", at: func(c *Config) any { return &c.Gateway.ShutdownGrace }}),
		g(Setting{Name: "PPROF", Kind: KindBool,
			Help: "serve /debug/pprof on loopback (admin key required)", at: func(c *Config) any { return &c.Gateway.Pprof }}),
	}
}

func accountSettings() []Setting {
	g := func(s Setting) Setting { s.Group = groupAccounts; return s }
	return []Setting{
		g(Setting{Name: "SELECTION_STRATEGY", Label: "Account selection", Kind: KindChoice,
			Options: []string{pool.StrategyFailover, pool.StrategyRoundRobin},
			Help:    "failover (least recently used first) or round-robin", at: func(c *Config) any { return &c.Pool.Strategy }}),
		g(Setting{Name: "MAX_ATTEMPTS", Label: "Accounts tried per request", Kind: KindNumber, Min: 1, Max: 20,
			Help: "accounts tried for one request", at: func(c *Config) any { return &c.Pool.MaxAttempts }}),
		g(Setting{Name: "QUOTA_COOLDOWN", Label: "Cooldown after a quota error", Kind: KindDuration,
			Help: "cooldown after a 429 that names no retry time", at: func(c *Config) any { return &c.Pool.QuotaCooldown }}),
		g(Setting{Name: "UNAUTHORIZED_COOLDOWN", Label: "Cooldown after refused sign-in tokens", Kind: KindDuration,
			Help: "cooldown after the API refuses fresh tokens even after a cookie refresh",
			at:   func(c *Config) any { return &c.Pool.UnauthorizedCooldown }}),
		g(Setting{Name: "SESSION_TTL", Label: "Conversation session lifetime", Kind: KindDuration,
			Help: "how long an idle conversation keeps its session", at: func(c *Config) any { return &c.Pool.SessionTTL }}),
		g(Setting{Name: "SESSION_CACHE_SIZE", Label: "Conversations remembered", Kind: KindNumber, Min: 1, Max: 10_000_000,
			Help: "conversations whose upstream session is kept", at: func(c *Config) any { return &c.Pool.SessionCacheSize }}),
		g(Setting{Name: "DATABASE_URL", Flag: "database-url", Label: "Shared PostgreSQL pool (DATABASE_URL)", Secret: true,
			Applies: AppliesRestart,
			Help:    "postgres://… to share one account pool; empty = SQLite in the data dir",
			at:      func(c *Config) any { return &c.DatabaseURL }, check: checkDatabaseURL}),
		g(Setting{Name: "BROWSER_REFRESH_INTERVAL", Label: "Silent refresh with the browser, about every", Kind: KindDuration,
			Help: "silent cookie refresh with the saved browser profile, about this often (0 = off)",
			at:   func(c *Config) any { return &c.Browser.RefreshInterval }}),
		g(Setting{Name: "EXPIRY_NOTICE", Label: "Notify before a sign-in expires", Kind: KindDuration,
			Help: "notify this long before an account's sign-in expires (0 = off)", at: func(c *Config) any { return &c.Browser.ExpiryNotice }}),
		g(Setting{Name: "BROWSER_PATH", Label: "Browser for signing in (empty: find one)", Applies: AppliesRestart,
			DefaultText: "found automatically",
			Help:        "browser for the sign-in (Chrome, Edge, Chromium, Brave)", at: func(c *Config) any { return &c.Browser.Path }}),
		g(Setting{Name: "BROWSER_ARGS",
			Help: "extra browser flags, split on white space, after the app's own", at: func(c *Config) any { return &c.Browser.Args }}),
		g(Setting{Name: "GATEWAY_DATA_DIR", Flag: "data-dir", DefaultText: "the OS user config dir",
			Help: "where the database and settings live", at: func(c *Config) any { return &c.DataDir }}),
		g(Setting{Name: "GATEWAY_SECRET_KEY", Secret: true,
			Help: "seals account secrets in the database instead of the OS keychain (16+ characters; needed for a shared PostgreSQL pool and on servers without a keyring)",
			set: func(c *Config, v string) error {
				if v != "" && len(v) < 16 {
					return errors.New("must be at least 16 characters; use a long random value")
				}
				c.SecretKey = v
				return nil
			}}),
		g(Setting{Name: "SECURE_C_SES", Secret: true, Help: "cookie __Secure-C_SES of the account from the environment",
			set: func(c *Config, v string) error { c.envAccount().SecureCSES = v; return nil }}),
		g(Setting{Name: "HOST_C_OSES", Secret: true, Help: "cookie __Host-C_OSES of the account from the environment (optional)",
			set: func(c *Config, v string) error { c.envAccount().HostCOSES = v; return nil }}),
		g(Setting{Name: "CSESIDX", Secret: true, Help: "csesidx of the account from the environment",
			set: func(c *Config, v string) error { c.envAccount().CSESIDX = v; return nil }}),
		g(Setting{Name: "CONFIG_ID", Help: "config id (UUID) of the account from the environment",
			set: func(c *Config, v string) error { c.envAccount().ConfigID = v; return nil }}),
	}
}

// healthSettings: HEALTH_CHECK_AUTO_DISABLE and _NETWORK_ERROR_THRESHOLD
// act on the request path too, so they fill the pool's Config; Resolve
// hands the same values to the health checker (Config.shareHealthLimits).
func healthSettings() []Setting {
	g := func(s Setting) Setting { s.Group = groupHealth; return s }
	return []Setting{
		g(Setting{Name: "HEALTH_CHECK_ENABLED", Label: "Health checks", Kind: KindBool,
			Help: "run health checks", at: func(c *Config) any { return &c.Health.Enabled }}),
		g(Setting{Name: "HEALTH_CHECK_INTERVAL", Label: "Interval", Kind: KindDuration,
			Help: "time between rounds", at: func(c *Config) any { return &c.Health.Interval }}),
		g(Setting{Name: "HEALTH_CHECK_TIMEOUT", Label: "Timeout per check", Kind: KindDuration,
			Help: "time allowed per check", at: func(c *Config) any { return &c.Health.Timeout }}),
		g(Setting{Name: "HEALTH_CHECK_RETRY_COUNT", Label: "Retries", Kind: KindNumber, Max: 10,
			Help: "retries of a failed check", at: func(c *Config) any { return &c.Health.RetryCount }}),
		g(Setting{Name: "HEALTH_CHECK_CONCURRENT_LIMIT", Label: "Checks at once", Kind: KindNumber, Min: 1, Max: 100,
			Help: "checks at once", at: func(c *Config) any { return &c.Health.Concurrency }}),
		g(Setting{Name: "HEALTH_CHECK_AUTO_DISABLE", Label: "Turn off failing accounts", Kind: KindBool,
			Help: "turn off expired, banned and unreachable accounts", at: func(c *Config) any { return &c.Pool.AutoDisable }}),
		g(Setting{Name: "HEALTH_CHECK_NETWORK_ERROR_THRESHOLD", Label: "Network errors before an account counts as down",
			Kind: KindNumber, Min: 1, Max: 100,
			Help: "consecutive network errors before an account counts as down",
			at:   func(c *Config) any { return &c.Pool.NetworkErrorThreshold }}),
	}
}

func upstreamSettings() []Setting {
	g := func(s Setting) Setting { s.Group = groupUpstream; s.Applies = AppliesUpstream; return s }
	return []Setting{
		g(Setting{Name: "PROXY", Label: "Proxy (http, https, socks5)",
			Help: "http://, https:// or socks5:// proxy for all upstream traffic",
			at:   func(c *Config) any { return &c.Upstream.Proxy }, check: checkProxy}),
		g(Setting{Name: "LANGUAGE_CODE", Label: "Language", DefaultText: "from LANG, else en-US",
			Help: "languageCode sent upstream", at: func(c *Config) any { return &c.Upstream.LanguageCode }}),
		g(Setting{Name: "TIME_ZONE", Label: "Time zone", DefaultText: "the system's",
			Help: "time zone sent upstream", at: func(c *Config) any { return &c.Upstream.TimeZone }, check: checkTimeZone}),
		g(Setting{Name: "USER_AGENT", Label: "User agent", DefaultText: "desktop Chrome",
			Help: "User-Agent sent upstream", at: func(c *Config) any { return &c.Upstream.UserAgent }}),
		g(Setting{Name: "UPSTREAM_FIRST_BYTE_TIMEOUT", Label: "First-byte timeout", Kind: KindDuration,
			Help: "wait for the first answer element", at: func(c *Config) any { return &c.Upstream.FirstByteTimeout }}),
		g(Setting{Name: "UPSTREAM_IDLE_TIMEOUT", Label: "Idle timeout", Kind: KindDuration,
			Help: "longest silence between answer elements", at: func(c *Config) any { return &c.Upstream.IdleTimeout }}),
		g(Setting{Name: "UPSTREAM_MEDIA_TIMEOUT", Label: "Image and video turn timeout", Kind: KindDuration,
			Help: "first-byte and idle limit of image and video turns", at: func(c *Config) any { return &c.Upstream.MediaTimeout }}),
		g(Setting{Name: "UPSTREAM_CONNECT_TIMEOUT", Kind: KindDuration,
			Help: "connect timeout", at: func(c *Config) any { return &c.Upstream.ConnectTimeout }}),
		g(Setting{Name: "GEMINI_BUSINESS_URL", Help: "web-app host (getoxsrf)",
			at: func(c *Config) any { return &c.Upstream.BusinessURL }, check: checkURL}),
		g(Setting{Name: "GEMINI_AUTH_URL", Help: "auth host",
			at: func(c *Config) any { return &c.Upstream.AuthURL }, check: checkURL}),
		g(Setting{Name: "GEMINI_API_URL", Help: "data-plane host (widget calls)",
			at: func(c *Config) any { return &c.Upstream.APIURL }, check: checkURL}),
	}
}

func desktopSettings() []Setting {
	g := func(s Setting) Setting { s.Group = groupDesktop; return s }
	return []Setting{
		g(Setting{Name: "START_AT_LOGIN", Label: "Start at login", Kind: KindBool, Applies: AppliesDesktop,
			Help: "start the desktop app when you log in", at: func(c *Config) any { return &c.StartAtLogin }}),
		g(Setting{Name: "LOG_LEVEL", Flag: "log-level", Label: "Log level", Kind: KindChoice, Applies: AppliesRestart,
			Options: []string{"debug", "info", "warn", "error"},
			Help:    "debug, info, warn or error", at: func(c *Config) any { return &c.LogLevel }}),
		g(Setting{Name: "LOG_FORMAT", Flag: "log-format", Kind: KindChoice, Options: []string{"text", "json"},
			Help: "text or json", at: func(c *Config) any { return &c.LogFormat }}),
		g(Setting{Name: "GATEWAY_UI_HIDDEN",
			Help: "any value starts the desktop app with its window hidden (tests, benchmarks)",
			set:  func(c *Config, v string) error { c.UI.Hidden = v != ""; return nil }}),
		g(Setting{Name: "GATEWAY_UI_PANEL",
			Help: "the panel the window opens on: overview, accounts, health, chat, settings, logs, clients or usage",
			at:   func(c *Config) any { return &c.UI.StartPanel }}),
	}
}

func mediaSettings() []Setting {
	g := func(s Setting) Setting { s.Group = groupMedia; return s }
	return []Setting{
		g(Setting{Name: "TOOLS_SPEC", Label: "Tools sent upstream", Kind: KindChoice,
			Options: []string{gateway.ToolsPerTurn, gateway.ToolsAll},
			Help:    "per-turn (web grounding; media tools only for media models) or all (every tool on every turn)",
			at:      func(c *Config) any { return &c.Gateway.ToolsSpec }}),
		g(Setting{Name: "IMAGE_DAILY_LIMIT", Label: "Images per account and day", Kind: KindNumber, Max: 100000,
			Help: "images one account may generate per day (0 = no limit)", at: func(c *Config) any { return &c.Pool.Image.Daily }}),
		g(Setting{Name: "VIDEO_DAILY_LIMIT", Label: "Videos per account and day", Kind: KindNumber, Max: 100000,
			Help: "videos one account may generate per day (0 = no limit)", at: func(c *Config) any { return &c.Pool.Video.Daily }}),
		g(Setting{Name: "IMAGE_COOLDOWN", Label: "Cooldown after an image quota error", Kind: KindDuration,
			Help: "how long an account makes no images after an image quota error", at: func(c *Config) any { return &c.Pool.Image.Cooldown }}),
		g(Setting{Name: "VIDEO_COOLDOWN", Label: "Cooldown after a video quota error", Kind: KindDuration,
			Help: "how long an account makes no videos after a video quota error", at: func(c *Config) any { return &c.Pool.Video.Cooldown }}),
		g(Setting{Name: "GENERATED_FILE_TTL", Label: "Keep generated files for", Kind: KindDuration,
			Help: "how long generated images and videos are kept and served", at: func(c *Config) any { return &c.Gateway.FileTTL }}),
		g(Setting{Name: "PUBLIC_BASE_URL", Label: "Public base URL of generated files",
			Help: "scheme://host[:port] for links to generated files; empty = the request's address",
			at:   func(c *Config) any { return &c.Gateway.PublicBaseURL }, check: checkOptionalURL}),
		g(Setting{Name: "TRUSTED_PROXIES", Label: "Trusted reverse proxies",
			Help: "addresses or CIDRs of reverse proxies whose X-Forwarded-Proto/Host are believed (comma-separated)",
			at:   func(c *Config) any { return &c.Gateway.TrustedProxies },
			set: func(c *Config, v string) error {
				p, err := gateway.ParseTrustedProxies(v)
				if err != nil {
					return errors.New("want IP addresses or CIDR prefixes, comma-separated")
				}
				c.Gateway.TrustedProxies = p
				return nil
			}}),
	}
}

func checkHost(v string) (string, error) {
	v = strings.Trim(v, "[]")
	if v == "" {
		return "", errors.New("must not be empty")
	}
	return v, nil
}

func checkDatabaseURL(v string) (string, error) {
	if v != "" && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") && !strings.Contains(v, "host=") {
		return "", errors.New("want a PostgreSQL URL (postgres://user:pass@host:5432/db)")
	}
	return v, nil
}

func checkProxy(v string) (string, error) {
	if v != "" {
		if err := (upstream.Config{Proxy: v}).Validate(); err != nil {
			return "", errors.New(strings.TrimPrefix(err.Error(), "PROXY: "))
		}
	}
	return v, nil
}

func checkTimeZone(v string) (string, error) {
	if _, err := time.LoadLocation(v); err != nil {
		return "", errors.New("want an IANA time zone such as Europe/Berlin")
	}
	return v, nil
}
