package app

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
)

// Setting is one configuration variable, defined once in the table of
// settings_table.go. Everything else is made from that table: loading
// (Resolve), the flags and -help (settings.go, settings_doc.go), the
// Settings panel's rows (controller_settings.go) and README's tables
// (settings_doc.go, checked by TestREADMESettingsTables).
type Setting struct {
	// Name is the environment variable, the .env name and the
	// settings.json key.
	Name string
	// Flag is the command-line flag (without "-") that sets it; every
	// setting can also be set with -set NAME=value.
	Flag string
	// Help says what the setting does and accepts (-help, the panel's
	// note, README).
	Help string
	// Kind is what the value is: it picks the parser, the panel's widget
	// and how the default is written.
	Kind Kind
	// Options are the accepted values of a KindChoice setting.
	Options []string
	// Min and Max bound a KindNumber setting.
	Min, Max int64
	// DefaultText describes a default that is worked out at start ("the
	// system's"); otherwise the default is the value in Defaults().
	DefaultText string
	// Secret values are masked in the Settings panel.
	Secret bool
	// Label is the Settings panel's title of the row; "" keeps the setting
	// out of the panel. Group is the panel card and the heading it is
	// listed under in -help and README.
	Label, Group string
	// Applies says how a change saved in the panel takes effect.
	Applies Applies

	// at points at the field the setting fills; it drives the generic
	// parsing and the formatting of the default.
	at func(c *Config) any
	// check validates and normalises a trimmed text value before it is
	// stored through at.
	check func(v string) (string, error)
	// set replaces the generic parsing (the value is passed untrimmed).
	set func(c *Config, v string) error
}

// Kind is what a setting's value is.
type Kind int

// The kinds of setting.
const (
	KindText     Kind = iota // any text, a list or a URL (check validates it)
	KindNumber               // a whole number from Min to Max
	KindBool                 // true/false, 1/0, yes/no, on/off
	KindChoice               // one of Options
	KindDuration             // seconds ("300") or a Go duration ("5m")
)

// Applies says how a change saved in the Settings panel takes effect.
type Applies int

// How a changed setting takes effect.
const (
	AppliesLive     Applies = iota // server, pool or health-check settings: at once
	AppliesListener                // the listener is restarted on the new address
	AppliesUpstream                // the upstream client is rebuilt
	AppliesRestart                 // needs an app restart
	AppliesDesktop                 // start at login
)

// String is how -help and README name when a change applies.
func (a Applies) String() string {
	switch a {
	case AppliesRestart:
		return "after restart"
	case AppliesListener:
		return "live (listener restarts)"
	default:
		return "live"
	}
}

// InPanel reports whether the Settings panel edits the setting.
func (s Setting) InPanel() bool { return s.Label != "" }

// Default is the default as written in -help, the panel and README: the
// value in d (Defaults()), or DefaultText when it is worked out at start.
func (s Setting) Default(d *Config) string {
	if s.DefaultText != "" {
		return s.DefaultText
	}
	return s.format(d)
}

// apply parses v and stores it in c; the error says what is accepted.
func (s Setting) apply(c *Config, v string) error {
	if s.set != nil {
		return s.set(c, v)
	}
	v = strings.TrimSpace(v)
	switch p := s.at(c).(type) {
	case *string:
		if s.Kind == KindChoice {
			v = strings.ToLower(v)
			if !slices.Contains(s.Options, v) {
				return errors.New("want " + orList(s.Options))
			}
		}
		if s.check != nil {
			var err error
			if v, err = s.check(v); err != nil {
				return err
			}
		}
		*p = v
	case *int:
		n, err := s.number(v)
		if err != nil {
			return err
		}
		*p = int(n)
	case *int64:
		n, err := s.number(v)
		if err != nil {
			return err
		}
		*p = n
	case *bool:
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*p = b
	case *time.Duration:
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		*p = d
	case *[]string:
		*p = splitList(v)
	default:
		return fmt.Errorf("setting %s: no parser for %T", s.Name, p)
	}
	return nil
}

// number parses a whole number within the setting's bounds.
func (s Setting) number(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < s.Min || n > s.Max {
		return 0, fmt.Errorf("want a whole number from %d to %d", s.Min, s.Max)
	}
	return n, nil
}

// format writes the setting's value in c the way it is parsed back.
func (s Setting) format(c *Config) string {
	if s.at == nil {
		return ""
	}
	switch p := s.at(c).(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return formatDuration(*p)
	case *[]string:
		return strings.Join(*p, ",")
	case *[]netip.Prefix:
		var out []string
		for _, x := range *p {
			out = append(out, x.String())
		}
		return strings.Join(out, ",")
	case *[]gateway.ModelAlias:
		var out []string
		for _, x := range *p {
			out = append(out, x.Pattern+"="+x.Target)
		}
		return strings.Join(out, ",")
	}
	panic(fmt.Sprintf("setting %s: no formatter for %T", s.Name, s.at(c)))
}

// formatDuration writes whole hours as "4h" and anything else in seconds
// ("600s"), the forms the Python gateway's users know.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, errors.New("want true or false")
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

// splitList reads a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// orList writes "a, b or c".
func orList(l []string) string {
	if len(l) < 2 {
		return strings.Join(l, "")
	}
	return strings.Join(l[:len(l)-1], ", ") + " or " + l[len(l)-1]
}

// checkURL accepts an http(s) URL and drops a trailing slash.
func checkURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("want an http:// or https:// URL")
	}
	return strings.TrimRight(v, "/"), nil
}

// checkOptionalURL is checkURL that also accepts nothing.
func checkOptionalURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	return checkURL(v)
}
