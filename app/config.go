package app

import (
	"errors"
	"fmt"
	"io/fs"
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
	// ModelsFile is MODELS_FILE, the model table read into Gateway.Models
	// ("" = the built-in gateway/models.json).
	ModelsFile string
	// EnvAccount is the account given by SECURE_C_SES/CSESIDX/CONFIG_ID.
	EnvAccount *accounts.Input

	LogLevel  string
	LogFormat string // "text" or "json"

	KeychainTimeout time.Duration
	StartAtLogin    bool

	// Browser configures the browser sign-in and the silent refresh.
	Browser BrowserConfig
	// UI is how the desktop window starts (GATEWAY_UI_*).
	UI UIConfig

	// Sources tells, for each variable that was set, where it came from
	// ("flag", "environment", a .env path, "settings").
	Sources map[string]string
	// EnvFiles are the .env files that were read.
	EnvFiles []string
	// Layers are the sources Resolve applied, lowest precedence first
	// (kept so saved settings can be re-resolved without a restart).
	Layers []Layer
}

// UIConfig is how the desktop window starts: for tests, screenshots and
// benchmarks that drive the app.
type UIConfig struct {
	Hidden     bool   // GATEWAY_UI_HIDDEN: start with the window hidden
	StartPanel string // GATEWAY_UI_PANEL: the panel shown first
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
	c.shareHealthLimits()
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

// shareHealthLimits gives the health checker the pool's AutoDisable and
// NetworkErrorThreshold: one setting each (HEALTH_CHECK_AUTO_DISABLE,
// HEALTH_CHECK_NETWORK_ERROR_THRESHOLD) that both act on.
func (c *Config) shareHealthLimits() {
	c.Health.AutoDisable = c.Pool.AutoDisable
	c.Health.NetworkErrorThreshold = c.Pool.NetworkErrorThreshold
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
