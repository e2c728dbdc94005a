package app

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// writeSettingsHelp is -help's list of variables, group by group, made
// from the settings table.
func writeSettingsHelp(w io.Writer) {
	d := Defaults()
	group := ""
	for _, s := range Settings() {
		if s.Group != group {
			group = s.Group
			fmt.Fprintf(w, "\n%s:\n", group)
		}
		def := ""
		if v := s.Default(d); v != "" {
			def = " [default " + strconv.Quote(v) + "]"
		}
		flag := ""
		if s.Flag != "" {
			flag = " (-" + s.Flag + ")"
		}
		fmt.Fprintf(w, "  %-38s %s%s%s\n", s.Name, s.Help, flag, def)
	}
}

// SettingsMarkdown is a README table of the named settings in the order
// named (all of them, in the table's order, when none is named), made
// from the settings table. README.md holds such
// tables between "<!-- settings NAME ... -->" (or "<!-- settings -->") and
// "<!-- /settings -->": `make settings-readme` rewrites them and
// TestREADMESettingsTables fails when one differs.
func SettingsMarkdown(names ...string) string {
	d := Defaults()
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning | In the app |\n|---|---|---|---|\n")
	rows := Settings()
	if len(names) > 0 {
		rows = rows[:0:0]
		for _, n := range names {
			if i := slices.IndexFunc(Settings(), func(s Setting) bool { return s.Name == n }); i >= 0 {
				rows = append(rows, Settings()[i])
			}
		}
	}
	for _, s := range rows {
		name := "`" + s.Name + "`"
		if s.Flag != "" {
			name += " (`-" + s.Flag + "`)"
		}
		def := s.Default(d)
		if def != "" && s.DefaultText == "" {
			def = "`" + def + "`"
		}
		app := ""
		if s.InPanel() {
			app = s.Group + ": " + s.Applies.String()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, mdEscape(def), mdEscape(s.Help), app)
	}
	return b.String()
}

// mdEscape keeps a cell's text from breaking the table or turning into
// markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`)
	if strings.HasPrefix(s, "`") {
		return strings.ReplaceAll(s, "|", `\|`)
	}
	return r.Replace(s)
}

// readmeMarker starts a generated table in README.md; its fields after
// "settings" name the settings to list.
var readmeMarker = regexp.MustCompile(`(?m)^<!-- settings([A-Z0-9_ ]*)-->\n`)

const readmeEnd = "<!-- /settings -->"

// RewriteSettingsTables returns readme with every generated settings
// table made anew from the settings table.
func RewriteSettingsTables(readme string) (string, error) {
	var b strings.Builder
	rest := readme
	found := false
	for {
		loc := readmeMarker.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		found = true
		names := strings.Fields(rest[loc[2]:loc[3]])
		for _, n := range names {
			if !slices.ContainsFunc(Settings(), func(s Setting) bool { return s.Name == n }) {
				return "", fmt.Errorf("README: %s in a settings marker is not a setting", n)
			}
		}
		end := strings.Index(rest[loc[1]:], readmeEnd)
		if end < 0 {
			return "", fmt.Errorf("README: %q without %q", strings.TrimSpace(rest[loc[0]:loc[1]]), readmeEnd)
		}
		b.WriteString(rest[:loc[1]])
		b.WriteString(SettingsMarkdown(names...))
		rest = rest[loc[1]+end:]
	}
	if !found {
		return "", errors.New("README: no <!-- settings --> table")
	}
	b.WriteString(rest)
	return b.String(), nil
}
