package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/gateway/pool"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/internal/dotenv"
)

// AppID is the application id: Fyne's id, the keychain service name and
// the data directory's name.
const AppID = "io.github.gemgate.geminigateway"

// Config is the whole configuration of one run. Load fills it from flags,
// the environment, .env files, saved settings and defaults, in that order
// of precedence.
type Config struct {
	Headless bool
	DataDir  string

	Gateway  gateway.Config
	Upstream upstream.Config
	Pool     pool.Config
	Health   pool.HealthConfig

	DatabaseURL string
	SecretKey   string // GATEWAY_SECRET_KEY
	// EnvAccount is the account given by SECURE_C_SES/CSESIDX/CONFIG_ID.
	EnvAccount *accounts.Input

	LogLevel  string
	LogFormat string // "text" or "json"

	KeychainTimeout time.Duration
	StartAtLogin    bool

	// Browser configures the browser sign-in and the silent refresh.
	Browser BrowserConfig

	// Sources tells, for each variable that was set, where it came from
	// ("flag", "environment", a .env path, "settings").
	Sources map[string]string
	// EnvFiles are the .env files that were read.
	EnvFiles []string
	// Layers are the sources Resolve applied, lowest precedence first
	// (kept so saved settings can be re-resolved without a restart).
	Layers []Layer
}

// Setting is one configuration variable.
type Setting struct {
	Name    string
	Help    string // what it accepts
	Default string
	apply   func(c *Config, v string) error
}

func boolVal(p *bool) func(*Config, string) error {
	return func(_ *Config, v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on":
			*p = true
		case "0", "false", "no", "off":
			*p = false
		default:
			return errors.New("want true or false")
		}
		return nil
	}
}

// parseDuration accepts plain seconds (the Python gateway's "300") or a Go
// duration ("5m", "1h30m").
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return 0, errors.New("must not be negative")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("want seconds (300) or a duration (5m)")
	}
	return d, nil
}

func intVal(min, max int, set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < min || n > max {
			return fmt.Errorf("want a whole number from %d to %d", min, max)
		}
		set(c, n)
		return nil
	}
}

func durVal(set func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		set(c, d)
		return nil
	}
}

func urlVal(set func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http:// or https:// URL")
		}
		set(c, strings.TrimRight(strings.TrimSpace(v), "/"))
		return nil
	}
}

func listVal(set func(*Config, []string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		set(c, out)
		return nil
	}
}

func strVal(set func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error { set(c, strings.TrimSpace(v)); return nil }
}

// Settings lists every variable, in the order the README documents them.
func Settings() []Setting {
	return []Setting{
		{Name: "HOST", Help: "address to listen on; anything but loopback needs API_KEY", Default: "127.0.0.1",
			apply: func(c *Config, v string) error {
				v = strings.Trim(strings.TrimSpace(v), "[]")
				if v == "" {
					return errors.New("must not be empty")
				}
				c.Gateway.Host = v
				return nil
			}},
		{Name: "PORT", Help: "port of the OpenAI-compatible API", Default: "7860",
			apply: intVal(0, 65535, func(c *Config, n int) { c.Gateway.Port = n })}, // 0: any free port
		{Name: "API_KEY", Help: "a client key (listed as API_KEY) besides those made in the Clients panel or the admin API",
			apply: strVal(func(c *Config, v string) { c.Gateway.APIKey = v })},
		{Name: "ADMIN_KEY", Help: "Bearer key of the admin API (/api/admin/*); empty = the generated admin.key in the data dir",
			apply: strVal(func(c *Config, v string) { c.Gateway.AdminKey = v })},
		{Name: "ALLOW_KEYLESS_LOOPBACK", Help: "serve /v1 without a key on loopback while no client key exists (any local user can then use your accounts)", Default: "false",
			apply: func(c *Config, v string) error { return boolVal(&c.Gateway.AllowKeylessLoopback)(c, v) }},
		{Name: "GATEWAY_DATA_DIR", Help: "where the database and settings live", Default: "the OS user config dir",
			apply: strVal(func(c *Config, v string) { c.DataDir = v })},
		{Name: "DATABASE_URL", Help: "postgres://… to share one account pool; empty = SQLite in the data dir",
			apply: func(c *Config, v string) error {
				v = strings.TrimSpace(v)
				if v != "" && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") && !strings.Contains(v, "host=") {
					return errors.New("want a PostgreSQL URL (postgres://user:pass@host:5432/db)")
				}
				c.DatabaseURL = v
				return nil
			}},
		{Name: "GATEWAY_SECRET_KEY", Help: "seals account secrets in the database instead of the OS keychain (16+ characters)",
			apply: func(c *Config, v string) error {
				if v != "" && len(v) < 16 {
					return errors.New("must be at least 16 characters; use a long random value")
				}
				c.SecretKey = v
				return nil
			}},
		{Name: "SECURE_C_SES", Help: "cookie __Secure-C_SES of the account from the environment",
			apply: func(c *Config, v string) error { c.envAccount().SecureCSES = v; return nil }},
		{Name: "HOST_C_OSES", Help: "cookie __Host-C_OSES of the account from the environment (optional)",
			apply: func(c *Config, v string) error { c.envAccount().HostCOSES = v; return nil }},
		{Name: "CSESIDX", Help: "csesidx of the account from the environment",
			apply: func(c *Config, v string) error { c.envAccount().CSESIDX = v; return nil }},
		{Name: "CONFIG_ID", Help: "config id (UUID) of the account from the environment",
			apply: func(c *Config, v string) error { c.envAccount().ConfigID = v; return nil }},
		{Name: "PROXY", Help: "http://, https:// or socks5:// proxy for all upstream traffic",
			apply: func(c *Config, v string) error {
				v = strings.TrimSpace(v)
				if v != "" {
					if err := (upstream.Config{Proxy: v}).Validate(); err != nil {
						return errors.New(strings.TrimPrefix(err.Error(), "PROXY: "))
					}
				}
				c.Upstream.Proxy = v
				return nil
			}},
		{Name: "GEMINI_BUSINESS_URL", Help: "web-app host (getoxsrf)", Default: "https://business.gemini.google",
			apply: urlVal(func(c *Config, v string) { c.Upstream.BusinessURL = v })},
		{Name: "GEMINI_AUTH_URL", Help: "auth host", Default: "https://auth.business.gemini.google",
			apply: urlVal(func(c *Config, v string) { c.Upstream.AuthURL = v })},
		{Name: "GEMINI_API_URL", Help: "data-plane host (widget calls)", Default: "https://biz-discoveryengine.googleapis.com",
			apply: urlVal(func(c *Config, v string) { c.Upstream.APIURL = v })},
		{Name: "LANGUAGE_CODE", Help: "languageCode sent upstream", Default: "from LANG, else en-US",
			apply: strVal(func(c *Config, v string) { c.Upstream.LanguageCode = v })},
		{Name: "TIME_ZONE", Help: "time zone sent upstream", Default: "the system's",
			apply: func(c *Config, v string) error {
				if _, err := time.LoadLocation(strings.TrimSpace(v)); err != nil {
					return errors.New("want an IANA time zone such as Europe/Berlin")
				}
				c.Upstream.TimeZone = strings.TrimSpace(v)
				return nil
			}},
		{Name: "USER_AGENT", Help: "User-Agent sent upstream", Default: "desktop Chrome",
			apply: strVal(func(c *Config, v string) { c.Upstream.UserAgent = v })},
		{Name: "UPSTREAM_CONNECT_TIMEOUT", Help: "connect timeout", Default: "15s",
			apply: durVal(func(c *Config, d time.Duration) { c.Upstream.ConnectTimeout = d })},
		{Name: "UPSTREAM_FIRST_BYTE_TIMEOUT", Help: "wait for the first answer element", Default: "120s",
			apply: durVal(func(c *Config, d time.Duration) { c.Upstream.FirstByteTimeout = d })},
		{Name: "UPSTREAM_IDLE_TIMEOUT", Help: "longest silence between answer elements", Default: "120s",
			apply: durVal(func(c *Config, d time.Duration) { c.Upstream.IdleTimeout = d })},
		{Name: "UPSTREAM_MEDIA_TIMEOUT", Help: "first-byte and idle limit of image and video turns", Default: "600s",
			apply: durVal(func(c *Config, d time.Duration) { c.Upstream.MediaTimeout = d })},
		{Name: "TOOLS_SPEC", Help: "per-turn (web grounding; media tools only for media models) or all (every tool on every turn)", Default: "per-turn",
			apply: func(c *Config, v string) error {
				v = strings.ToLower(strings.TrimSpace(v))
				if v != gateway.ToolsPerTurn && v != gateway.ToolsAll {
					return errors.New("want per-turn or all")
				}
				c.Gateway.ToolsSpec = v
				return nil
			}},
		{Name: "IMAGE_DAILY_LIMIT", Help: "images one account may generate per day (0 = no limit)", Default: "2",
			apply: intVal(0, 100000, func(c *Config, n int) { c.Pool.Image.Daily = n })},
		{Name: "VIDEO_DAILY_LIMIT", Help: "videos one account may generate per day (0 = no limit)", Default: "1",
			apply: intVal(0, 100000, func(c *Config, n int) { c.Pool.Video.Daily = n })},
		{Name: "IMAGE_COOLDOWN", Help: "how long an account makes no images after an image quota error", Default: "4h",
			apply: durVal(func(c *Config, d time.Duration) { c.Pool.Image.Cooldown = d })},
		{Name: "VIDEO_COOLDOWN", Help: "how long an account makes no videos after a video quota error", Default: "4h",
			apply: durVal(func(c *Config, d time.Duration) { c.Pool.Video.Cooldown = d })},
		{Name: "GENERATED_FILE_TTL", Help: "how long generated images and videos are kept and served", Default: "24h",
			apply: durVal(func(c *Config, d time.Duration) { c.Gateway.FileTTL = d })},
		{Name: "PUBLIC_BASE_URL", Help: "scheme://host[:port] for links to generated files; empty = the request's address",
			apply: func(c *Config, v string) error {
				if strings.TrimSpace(v) == "" {
					c.Gateway.PublicBaseURL = ""
					return nil
				}
				return urlVal(func(c *Config, v string) { c.Gateway.PublicBaseURL = v })(c, v)
			}},
		{Name: "TRUSTED_PROXIES", Help: "addresses or CIDRs of reverse proxies whose X-Forwarded-Proto/Host are believed (comma-separated)",
			apply: func(c *Config, v string) error {
				p, err := gateway.ParseTrustedProxies(v)
				if err != nil {
					return errors.New("want IP addresses or CIDR prefixes, comma-separated")
				}
				c.Gateway.TrustedProxies = p
				return nil
			}},
		{Name: "MODEL_ALIASES", Help: "model names clients hard-wire, mapped to this gateway's models: claude-*=gemini-2.5-pro,gpt-5*=gemini-2.5-pro (a * ends a prefix)",
			apply: func(c *Config, v string) error {
				l, err := gateway.ParseModelAliases(v)
				if err != nil {
					return err
				}
				c.Gateway.ModelAliases = l
				return nil
			}},
		{Name: "MODEL_FALLBACK", Help: "serve a request for a model the upstream refuses with the nearest available one", Default: "false",
			apply: func(c *Config, v string) error { return boolVal(&c.Gateway.ModelFallback)(c, v) }},
		{Name: "MODEL_RECHECK", Help: "how long a model the upstream refused stays marked unavailable", Default: "1h",
			apply: durVal(func(c *Config, d time.Duration) { c.Gateway.ModelRecheck = d })},
		{Name: "MODELS_FILE", Help: "a JSON model table served instead of the built-in one (the form of gateway/models.json); empty = built-in",
			apply: func(c *Config, v string) (err error) { c.Gateway.Models, err = gateway.LoadModelsFile(v); return err }},
		{Name: "SELECTION_STRATEGY", Help: "failover (least recently used first) or round-robin", Default: "failover",
			apply: func(c *Config, v string) error {
				v = strings.ToLower(strings.TrimSpace(v))
				if v != pool.StrategyFailover && v != pool.StrategyRoundRobin {
					return errors.New("want failover or round-robin")
				}
				c.Pool.Strategy = v
				return nil
			}},
		{Name: "MAX_ATTEMPTS", Help: "accounts tried for one request", Default: "3",
			apply: intVal(1, 20, func(c *Config, n int) { c.Pool.MaxAttempts = n })},
		{Name: "QUOTA_COOLDOWN", Help: "cooldown after a 429 that names no retry time", Default: "600s",
			apply: durVal(func(c *Config, d time.Duration) { c.Pool.QuotaCooldown = d })},
		{Name: "UNAUTHORIZED_COOLDOWN", Help: "cooldown after the API refuses fresh tokens even after a cookie refresh", Default: "2h",
			apply: durVal(func(c *Config, d time.Duration) { c.Pool.UnauthorizedCooldown = d })},
		{Name: "SESSION_CACHE_SIZE", Help: "conversations whose upstream session is kept", Default: "10000",
			apply: intVal(1, 10_000_000, func(c *Config, n int) { c.Pool.SessionCacheSize = n })},
		{Name: "SESSION_TTL", Help: "how long an idle conversation keeps its session", Default: "7200s",
			apply: durVal(func(c *Config, d time.Duration) { c.Pool.SessionTTL = d })},
		{Name: "HEALTH_CHECK_ENABLED", Help: "run health checks", Default: "true", apply: func(c *Config, v string) error { return boolVal(&c.Health.Enabled)(c, v) }},
		{Name: "HEALTH_CHECK_INTERVAL", Help: "seconds between rounds", Default: "300",
			apply: durVal(func(c *Config, d time.Duration) { c.Health.Interval = d })},
		{Name: "HEALTH_CHECK_TIMEOUT", Help: "seconds per check", Default: "30",
			apply: durVal(func(c *Config, d time.Duration) { c.Health.Timeout = d })},
		{Name: "HEALTH_CHECK_RETRY_COUNT", Help: "retries of a failed check", Default: "2",
			apply: intVal(0, 10, func(c *Config, n int) { c.Health.RetryCount = n })},
		{Name: "HEALTH_CHECK_CONCURRENT_LIMIT", Help: "checks at once", Default: "5",
			apply: intVal(1, 100, func(c *Config, n int) { c.Health.Concurrency = n })},
		{Name: "HEALTH_CHECK_AUTO_DISABLE", Help: "turn off expired, banned and unreachable accounts", Default: "true",
			apply: func(c *Config, v string) error {
				if err := boolVal(&c.Health.AutoDisable)(c, v); err != nil {
					return err
				}
				c.Pool.AutoDisable = c.Health.AutoDisable
				return nil
			}},
		{Name: "HEALTH_CHECK_NETWORK_ERROR_THRESHOLD", Help: "consecutive network errors before an account counts as down", Default: "3",
			apply: intVal(1, 100, func(c *Config, n int) { c.Health.NetworkErrorThreshold = n; c.Pool.NetworkErrorThreshold = n })},
		{Name: "REASONING_OUTPUT", Help: "reasoning_content, think (<think> tags) or off", Default: "reasoning_content",
			apply: func(c *Config, v string) error {
				v = strings.ToLower(strings.TrimSpace(v))
				if v != gateway.ReasoningField && v != gateway.ReasoningThink && v != gateway.ReasoningOff {
					return errors.New("want reasoning_content, think or off")
				}
				c.Gateway.Reasoning = v
				return nil
			}},
		{Name: "MODEL_STICKINESS", Help: "serve a client's background gemini-2.5 jobs with its gemini-3 chat model", Default: "true",
			apply: func(c *Config, v string) error { return boolVal(&c.Gateway.ModelStickiness)(c, v) }},
		{Name: "DEFAULT_MODEL", Help: "model used when a request names none", Default: "gemini-auto",
			apply: strVal(func(c *Config, v string) { c.Gateway.DefaultModel = v })},
		{Name: "ALLOWED_HOSTS", Help: "extra Host names accepted (comma-separated; * = any)",
			apply: listVal(func(c *Config, l []string) { c.Gateway.AllowedHosts = l })},
		{Name: "CORS_ORIGINS", Help: "browser origins allowed (comma-separated; chrome-extension://* style patterns)",
			apply: listVal(func(c *Config, l []string) { c.Gateway.CORSOrigins = l })},
		{Name: "MAX_BODY_BYTES", Help: "largest request body", Default: "20971520",
			apply: intVal(1024, 1<<30, func(c *Config, n int) { c.Gateway.MaxBodyBytes = int64(n) })},
		{Name: "MAX_BODY_BYTES_IN_FLIGHT", Help: "request-body bytes held at once by all requests together", Default: "134217728",
			apply: intVal(1024, 1<<40, func(c *Config, n int) { c.Gateway.MaxBodyBytesInFlight = int64(n) })},
		{Name: "READ_BODY_TIMEOUT", Help: "how long a client may take to send its request body", Default: "30s",
			apply: durVal(func(c *Config, d time.Duration) { c.Gateway.ReadBodyTimeout = d })},
		{Name: "MAX_CONCURRENT_PER_CLIENT", Help: "requests at once from one client key (one address without keys; 0 = unlimited)", Default: "2048",
			apply: intVal(0, 1_000_000, func(c *Config, n int) { c.Gateway.MaxConcurrentPerClient = n })},
		{Name: "READ_HEADER_TIMEOUT", Help: "how long a client may take to send its request headers", Default: "10s",
			apply: durVal(func(c *Config, d time.Duration) { c.Gateway.ReadHeaderTimeout = d })},
		{Name: "MAX_HEADER_BYTES", Help: "largest request header block", Default: "65536",
			apply: intVal(1024, 1<<24, func(c *Config, n int) { c.Gateway.MaxHeaderBytes = n })},
		{Name: "KEEPALIVE_INTERVAL", Help: "empty chunk after this much upstream silence", Default: "10s",
			apply: durVal(func(c *Config, d time.Duration) { c.Gateway.KeepAlive = d })},
		{Name: "SHUTDOWN_GRACE", Help: "how long open streams may finish at shutdown", Default: "30s",
			apply: durVal(func(c *Config, d time.Duration) { c.Gateway.ShutdownGrace = d })},
		{Name: "PPROF", Help: "serve /debug/pprof on loopback (admin key required)", Default: "false",
			apply: func(c *Config, v string) error { return boolVal(&c.Gateway.Pprof)(c, v) }},
		{Name: "LOG_LEVEL", Help: "debug, info, warn or error", Default: "info",
			apply: func(c *Config, v string) error {
				v = strings.ToLower(strings.TrimSpace(v))
				if !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
					return errors.New("want debug, info, warn or error")
				}
				c.LogLevel = v
				return nil
			}},
		{Name: "LOG_FORMAT", Help: "text or json", Default: "text",
			apply: func(c *Config, v string) error {
				v = strings.ToLower(strings.TrimSpace(v))
				if v != "text" && v != "json" {
					return errors.New("want text or json")
				}
				c.LogFormat = v
				return nil
			}},
		{Name: "START_AT_LOGIN", Help: "start the desktop app when you log in", Default: "false",
			apply: func(c *Config, v string) error { return boolVal(&c.StartAtLogin)(c, v) }},
		{Name: "BROWSER_PATH", Help: "browser for the sign-in (Chrome, Edge, Chromium, Brave)", Default: "found automatically",
			apply: strVal(func(c *Config, v string) { c.Browser.Path = v })},
		{Name: "BROWSER_ARGS", Help: "extra browser flags, split on white space, after the app's own",
			apply: strVal(func(c *Config, v string) { c.Browser.Args = v })},
		{Name: "BROWSER_REFRESH_INTERVAL", Help: "silent cookie refresh with the saved browser profile, about this often (0 = off)", Default: "1h",
			apply: durVal(func(c *Config, d time.Duration) { c.Browser.RefreshInterval = d })},
		{Name: "EXPIRY_NOTICE", Help: "notify this long before an account's sign-in expires (0 = off)", Default: "1h",
			apply: durVal(func(c *Config, d time.Duration) { c.Browser.ExpiryNotice = d })},
	}
}

func (c *Config) envAccount() *accounts.Input {
	if c.EnvAccount == nil {
		c.EnvAccount = &accounts.Input{Name: "environment"}
	}
	return c.EnvAccount
}

// Defaults returns the configuration before any variable is applied.
func Defaults() *Config {
	c := &Config{
		Gateway:   gateway.DefaultConfig(),
		Upstream:  upstream.DefaultConfig(),
		Pool:      pool.DefaultConfig(),
		Health:    pool.DefaultHealthConfig(),
		LogLevel:  "info",
		LogFormat: "text",
		Sources:   map[string]string{},

		KeychainTimeout: 5 * time.Second,
		Browser:         defaultBrowserConfig(),
	}
	c.Upstream.LanguageCode = languageFromLocale(os.Getenv("LC_ALL"), os.Getenv("LANG"))
	c.Upstream.TimeZone = systemTimeZone()
	return c
}

// languageFromLocale turns en_US.UTF-8 into en-US.
func languageFromLocale(vals ...string) string {
	for _, v := range vals {
		v, _, _ = strings.Cut(v, ".")
		v, _, _ = strings.Cut(v, "@")
		if v == "" || v == "C" || v == "POSIX" {
			continue
		}
		return strings.ReplaceAll(v, "_", "-")
	}
	return "en-US"
}

// systemTimeZone names the local zone: TZ, then /etc/localtime's target.
func systemTimeZone() string {
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			return tz
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if _, err := time.LoadLocation(name); err == nil {
				return name
			}
		}
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		if tz := strings.TrimSpace(string(b)); tz != "" {
			if _, err := time.LoadLocation(tz); err == nil {
				return tz
			}
		}
	}
	return "Etc/UTC"
}

// DefaultDataDir is <user config dir>/gemini-gateway.
func DefaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = filepath.Join(os.TempDir(), "gemini-gateway-"+strconv.Itoa(os.Getuid()))
		return dir
	}
	return filepath.Join(dir, "gemini-gateway")
}

// ReadDotEnv parses a .env file with the program's one .env syntax
// (internal/dotenv, which the account importer shares): KEY=value lines,
// optional "export ", quotes, # comments.
func ReadDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return dotenv.Parse(f, path)
}

// Layer is one source of variables.
type Layer struct {
	Source string
	Vars   map[string]string
}

// Resolve applies layers (lowest precedence first) to the defaults and
// validates the result. A bad value stops with a message naming the
// variable and what it accepts.
func Resolve(layers []Layer) (*Config, error) {
	c := Defaults()
	c.Layers = layers
	merged := map[string]Layer{}
	for _, l := range layers {
		for k, v := range l.Vars {
			merged[k] = Layer{Source: l.Source, Vars: map[string]string{k: v}}
		}
	}
	for _, s := range Settings() {
		l, ok := merged[s.Name]
		if !ok {
			continue
		}
		v := l.Vars[s.Name]
		if err := s.apply(c, v); err != nil {
			return nil, fmt.Errorf("%s (from %s): %v", s.Name, l.Source, err)
		}
		c.Sources[s.Name] = l.Source
	}
	if c.EnvAccount != nil && c.EnvAccount.SecureCSES == "" && c.EnvAccount.CSESIDX == "" && c.EnvAccount.ConfigID == "" && c.EnvAccount.HostCOSES == "" {
		c.EnvAccount = nil
	}
	if c.EnvAccount != nil {
		in := c.EnvAccount.Normalize()
		if err := in.Validate(false); err != nil {
			var ve *accounts.ValidationError
			if errors.As(err, &ve) {
				names := map[string]string{"secure_c_ses": "SECURE_C_SES", "csesidx": "CSESIDX", "config_id": "CONFIG_ID", "host_c_oses": "HOST_C_OSES"}
				for f, msg := range ve.Fields {
					return nil, fmt.Errorf("%s: %s (the account from the environment needs SECURE_C_SES, CSESIDX and CONFIG_ID)", names[f], msg)
				}
			}
			return nil, err
		}
		c.EnvAccount = &in
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	c.Gateway.FilesDir = filepath.Join(c.DataDir, "files")
	if err := (upstream.Config{BusinessURL: c.Upstream.BusinessURL, AuthURL: c.Upstream.AuthURL, APIURL: c.Upstream.APIURL}).Validate(); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(c.Gateway.Models, func(m gateway.Model) bool { return m.ID == c.Gateway.DefaultModel }) {
		return nil, fmt.Errorf("DEFAULT_MODEL: %q is not a served model", c.Gateway.DefaultModel)
	}
	return c, nil
}

// EnvironLayer turns os.Environ-style pairs into a layer.
func EnvironLayer(environ []string) Layer {
	l := Layer{Source: "environment", Vars: map[string]string{}}
	known := map[string]bool{}
	for _, s := range Settings() {
		known[s.Name] = true
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && known[k] {
			l.Vars[k] = v
		}
	}
	return l
}

// DotEnvLayers reads .env from the working directory and from dataDir;
// the working directory's wins.
func DotEnvLayers(dirs ...string) ([]Layer, error) {
	var out []Layer
	seen := map[string]bool{}
	for i := len(dirs) - 1; i >= 0; i-- {
		p := filepath.Join(dirs[i], ".env")
		abs, _ := filepath.Abs(p)
		if seen[abs] {
			continue
		}
		seen[abs] = true
		if err := checkDotEnvFile(p); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		vars, err := ReadDotEnv(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Layer{Source: p, Vars: vars})
	}
	return out, nil
}
