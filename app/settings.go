package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// settingsFile holds what the desktop app's Settings panel saved: the same
// variable names as the environment, as strings.
const settingsFile = "settings.json"

// LoadSettings reads the saved settings of dataDir (none is not an error).
func LoadSettings(dataDir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, settingsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); fix or delete it", filepath.Join(dataDir, settingsFile), err)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// SaveSettings writes the settings atomically, readable by the user only
// (the API key is in it).
func SaveSettings(dataDir string, m map[string]string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, ".settings-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dataDir, settingsFile))
}

// NewAPIKey makes a key in the familiar "sk-" form.
func NewAPIKey() string {
	var b [24]byte
	rand.Read(b[:])
	return "sk-gg-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Options are the command line.
type Options struct {
	Headless bool
	Version  bool
	EnvFile  string
	Flags    map[string]string // variables set by flags
	// SignIn is -signin NAME: sign in to that account with the browser,
	// save it and exit.
	SignIn string
}

// ParseFlags reads the command line. Flags win over every other source.
func ParseFlags(args []string, out io.Writer) (Options, error) {
	fs := flag.NewFlagSet("gemini-gateway", flag.ContinueOnError)
	fs.SetOutput(out)
	var o Options
	o.Flags = map[string]string{}
	fs.BoolVar(&o.Headless, "headless", false, "serve the gateway without a GUI (servers, tests)")
	fs.BoolVar(&o.Version, "version", false, "print the version and exit")
	fs.StringVar(&o.EnvFile, "env-file", "", "read variables from this .env file as well")
	fs.StringVar(&o.SignIn, "signin", "", "sign in to account `NAME` with the browser, save (or update) it in the configured store and exit")
	for _, st := range Settings() {
		if st.Flag != "" {
			fs.Func(st.Flag, st.Help+" ("+st.Name+")", func(v string) error { o.Flags[st.Name] = v; return nil })
		}
	}
	fs.Func("set", "set any variable: -set NAME=value (repeatable)", func(v string) error {
		k, val, ok := cutEq(v)
		if !ok {
			return errors.New("want NAME=value")
		}
		o.Flags[k] = val
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: gemini-gateway [flags]\n\nAn OpenAI-compatible gateway to Gemini Business, as a tray app or (-headless) a server.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(out, "\nEvery setting can also come from the environment or a .env file:\n")
		writeSettingsHelp(out)
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	return o, nil
}

func cutEq(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}

// Load builds the configuration from the command line, the environment,
// .env files (working directory, then the data directory), the saved
// settings and the defaults, in that order of precedence.
func Load(o Options, environ []string) (*Config, error) {
	flags := Layer{Source: "flag", Vars: o.Flags}
	env := EnvironLayer(environ)
	cwd, _ := os.Getwd()
	cwdEnv, err := DotEnvLayers(cwd)
	if err != nil {
		return nil, err
	}
	var extra []Layer
	if o.EnvFile != "" {
		if err := checkDotEnvFile(o.EnvFile); err != nil {
			return nil, fmt.Errorf("-env-file: %w", err)
		}
		vars, err := ReadDotEnv(o.EnvFile)
		if err != nil {
			return nil, fmt.Errorf("-env-file: %w", err)
		}
		extra = append(extra, Layer{Source: o.EnvFile, Vars: vars})
	}
	dataDir := DefaultDataDir()
	for _, l := range append(append(append([]Layer{}, cwdEnv...), extra...), env, flags) {
		if v, ok := l.Vars["GATEWAY_DATA_DIR"]; ok && v != "" {
			dataDir = v
		}
	}
	dataEnv, err := DotEnvLayers(dataDir)
	if err != nil {
		return nil, err
	}
	saved, err := LoadSettings(dataDir)
	if err != nil {
		return nil, err
	}
	layers := []Layer{{Source: "settings", Vars: saved}}
	layers = append(layers, dataEnv...)
	layers = append(layers, cwdEnv...)
	layers = append(layers, extra...)
	layers = append(layers, env, flags)
	c, err := Resolve(layers)
	if err != nil {
		return nil, err
	}
	c.Headless = o.Headless
	c.DataDir = dataDir
	for _, l := range layers[1:] {
		if l.Source != "environment" && l.Source != "flag" {
			c.EnvFiles = append(c.EnvFiles, l.Source)
		}
	}
	return c, nil
}
