// Package dotenv reads KEY=value lines, the one syntax the program accepts
// for .env files (app.ReadDotEnv) and for .env blocks pasted into the
// account importer (gateway/accounts). Both read a line the same way, so
// a value means the same whether it comes from a file or a paste.
//
// Why not github.com/joho/godotenv: it returns only a map, while the
// importer needs the lines in order (repeated keys start the next account,
// URLs and comments between the lines name and complete accounts); it
// takes "KEY: value" as an assignment, so an address bar line
// "https://business.gemini.google/…" reads as the key "https"; it refuses
// the cookie names the importer accepts as keys ("__Secure-C_SES=…");
// its errors quote the rest of the file, which holds secrets; and it
// expands $NAME inside values, which would change a DATABASE_URL password
// containing "$". The syntax below is the part of the usual .env dialect
// (godotenv, python-dotenv, docker compose) that those do agree on.
package dotenv

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// keyRE is what a key may look like. "-" and "." are allowed because the
// importer takes cookie names ("__Secure-C_SES") as keys.
var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)

// prefixes are the words a line may start with before the key: the shell's
// "export ", cmd.exe's "set " and PowerShell's "$env:".
var prefixes = []string{"export ", "set ", "$env:"}

// ParseLine reads one line "KEY=value". It accepts, in order:
//
//   - an optional prefix "export ", "set " or "$env:" (any case);
//   - a key of letters, digits, "_", "-" and ".", not starting with a digit,
//     with spaces around "=" allowed;
//   - a value that is either
//     "double quoted", where \n, \r and \t are a newline, carriage return
//     and tab, \" \\ \' \$ and \` are the character itself, and any other
//     backslash stays; or 'single quoted', taken as it is; or unquoted, up
//     to a " #" or "\t#" comment, trimmed.
//
// Text after a closing quote is ignored (it is usually a comment). A
// quote that is not closed on the line makes ok false: the line is not
// an assignment, and a caller can say so without quoting it.
func ParseLine(line string) (key, value string, ok bool) {
	t := strings.TrimSpace(line)
	for _, p := range prefixes {
		if len(t) > len(p) && strings.EqualFold(t[:len(p)], p) {
			t = strings.TrimSpace(t[len(p):])
			break
		}
	}
	key, value, found := strings.Cut(t, "=")
	key = strings.TrimSpace(key)
	if !found || !keyRE.MatchString(key) {
		return "", "", false
	}
	value = strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(value, `"`):
		v, closed := doubleQuoted(value[1:])
		if !closed {
			return "", "", false
		}
		return key, v, true
	case strings.HasPrefix(value, "'"):
		v, _, closed := strings.Cut(value[1:], "'")
		if !closed {
			return "", "", false
		}
		return key, v, true
	}
	for _, c := range []string{" #", "\t#"} {
		if i := strings.Index(value, c); i >= 0 {
			value = value[:i]
		}
	}
	return key, strings.TrimSpace(value), true
}

// doubleQuoted decodes the inside of a "…" value up to its closing quote.
func doubleQuoted(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), true
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '\'', '$', '`':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// Skip tells lines that carry nothing: blank lines and "#" comments.
func Skip(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// LineError is a line Parse could not read. It names the line, never its
// text, which may be a secret.
type LineError struct {
	Name string // the file name given to Parse
	Line int
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: want KEY=value (a quoted value must close on its line)", e.Name, e.Line)
}

// Parse reads every line of r with ParseLine, skipping blank lines and
// comments; a later key replaces an earlier one. name is used in errors.
func Parse(r io.Reader, name string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if Skip(line) {
			continue
		}
		k, v, ok := ParseLine(line)
		if !ok {
			return nil, &LineError{Name: name, Line: n}
		}
		out[k] = v
	}
	return out, sc.Err()
}
