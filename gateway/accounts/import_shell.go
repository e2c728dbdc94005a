package accounts

import (
	"bytes"
	"errors"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Splitting pasted shell text into commands and words: bash (the
// "Copy as cURL (bash)" of every browser) and cmd.exe with the Microsoft
// C runtime ("Copy as cURL (cmd)" on Windows).

// shellCmd is one command of a pasted shell text and the byte range it
// came from.
type shellCmd struct {
	args       []string
	start, end int
	err        string
}

const unterminatedQuote = "unterminated quote in the curl command: copy the whole command again"

// cmdFlavour tells Windows cmd quoting ("Copy as cURL (cmd)": ^" and ^ at
// line ends) from bash quoting.
func cmdFlavour(text string) bool {
	if strings.Contains(text, `^"`) {
		return true
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(strings.TrimRight(l, " \t"), "^") {
			return true
		}
	}
	return false
}

// splitBash splits text into commands and words as bash does, with
// mvdan.cc/sh's parser and its word expansion (expand.Fields, which
// removes quotes): '…', "…",
// $'…', backslash escapes and line continuations, and ; & | && || and
// newlines between commands. Nothing is run or looked up: a $NAME or
// $(…) stays as it was written, since the paste's shell is not this one.
//
// A pasted text is not always a script: an address bar next to the
// command, a stray "(" in a note, or a command cut off inside a quote.
// So a syntax error does not lose the commands before it: the commands
// parsed so far are kept, and parsing resumes on the line after the
// error. A command cut off inside a quote (the parser reaches the end of
// the text in it) is returned with err set, its first word read as far as
// it goes, so that the caller can tell a curl command from other text.
//
// The parser refuses bytes that are not UTF-8, so they are read as U+FFFD
// (the account values are ASCII); the byte ranges returned are then those
// of strings.ToValidUTF8(s), which parseCurl uses for the loose text too.
func splitBash(s string) []shellCmd {
	s = blankPrompts(strings.ToValidUTF8(s, "\uFFFD"))
	var cmds []shellCmd
	for off := 0; off < len(s); {
		done := off
		p := syntax.NewParser(syntax.Variant(syntax.LangBash))
		var err error
		for st, e := range p.StmtsSeq(strings.NewReader(s[off:])) {
			if e != nil {
				err = e
				break
			}
			cmds = appendCalls(cmds, s, off, st)
			done = off + int(st.End().Offset())
		}
		if err == nil {
			break
		}
		start := done + strings.IndexFunc(s[done:], func(r rune) bool { return !strings.ContainsRune(" \t\n;&|", r) })
		if start < done {
			break // only separators left
		}
		var pe syntax.ParseError
		if errors.As(err, &pe) && pe.Incomplete && strings.Contains(pe.Text, "quote") {
			cmds = append(cmds, shellCmd{args: firstWord(s[start:]), start: start, end: len(s), err: unterminatedQuote})
			break
		}
		// Resume after the line the error is on (at least after the line
		// the failed command starts on).
		next := len(s)
		if errors.As(err, &pe) {
			next = off + int(pe.Pos.Offset())
		}
		next = max(next, start)
		if nl := strings.IndexByte(s[next:], '\n'); nl >= 0 {
			next += nl + 1
		} else {
			next = len(s)
		}
		off = next
	}
	return cmds
}

// blankPrompts replaces a shell prompt ("$ " or a continuation's "> ")
// copied along at the start of a line with spaces, keeping byte offsets.
func blankPrompts(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j+1 < len(b) && (b[j] == '$' || b[j] == '>') && (b[j+1] == ' ' || b[j+1] == '\t') {
			b[j] = ' '
		}
		nl := bytes.IndexByte(b[j:], '\n')
		if nl < 0 {
			break
		}
		i = j + nl + 1
	}
	return string(b)
}

// appendCalls adds the simple commands of st (those joined by && || |
// too) with their words unquoted. off is where st's text starts in s.
func appendCalls(cmds []shellCmd, s string, off int, st *syntax.Stmt) []shellCmd {
	switch c := st.Cmd.(type) {
	case *syntax.BinaryCmd:
		cmds = appendCalls(cmds, s, off, c.X)
		return appendCalls(cmds, s, off, c.Y)
	case *syntax.CallExpr:
		if len(c.Args) == 0 {
			return cmds // only assignments, such as "hl=en" after a & in a URL
		}
		cmd := shellCmd{start: off + int(c.Pos().Offset()), end: off + int(c.End().Offset())}
		for _, w := range c.Args {
			f, err := expand.Fields(literalConfig, w)
			if err != nil { // a $(…) or an arithmetic error: keep the text
				f = []string{s[off+int(w.Pos().Offset()) : off+int(w.End().Offset())]}
			}
			cmd.args = append(cmd.args, f...)
		}
		return append(cmds, cmd)
	}
	return cmds
}

// literalConfig expands nothing: every variable reads as its own name, so
// "$session" stays "$session", and "~" stays "~".
var literalConfig = &expand.Config{Env: unknownEnv{}}

type unknownEnv struct{}

func (unknownEnv) Get(name string) expand.Variable {
	switch name {
	case "IFS", "HOME":
		return expand.Variable{}
	}
	return expand.Variable{Set: true, Kind: expand.String, Str: "$" + name}
}

func (unknownEnv) Each(func(string, expand.Variable) bool) {}

// firstWord is the first word of a command that could not be parsed,
// unquoted as far as it is quoted.
func firstWord(s string) []string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	return []string{strings.Trim(f[0], `'"`)}
}

// splitCmd and crtArgs stay hand-written: mvdan.cc/sh parses POSIX shells
// only, and the one library splitter of Windows command lines
// (golang.org/x/sys/windows.DecomposeCommandLine) builds only on Windows
// and does the C runtime's part, not cmd.exe's ^ escapes before it.
//
// splitCmd splits text as cmd.exe and then the C runtime would: cmd.exe
// removes ^ escapes (^ at a line end continues the line; Chrome writes a
// newline inside an argument as ^ and two line ends) and ends commands at
// line ends and unescaped & or |; the C runtime then splits arguments at
// spaces outside "…", with \" for a literal quote.
func splitCmd(s string) []shellCmd {
	var cmds []shellCmd
	var line strings.Builder
	start := -1
	inQuote := false
	flush := func(end int) {
		if args := crtArgs(line.String()); len(args) > 0 {
			if start < 0 {
				start = end
			}
			cmds = append(cmds, shellCmd{args: args, start: start, end: end})
		}
		line.Reset()
		start = -1
		inQuote = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if start < 0 && c != ' ' && c != '\t' && c != '\n' {
			start = i
		}
		switch {
		case c == '^' && !inQuote:
			if i+1 >= len(s) {
				continue
			}
			i++
			if s[i] == '\n' {
				if i+1 < len(s) && s[i+1] == '\n' {
					line.WriteByte('\n')
					i++
				}
				continue
			}
			// An escaped quote reaches the program but does not switch
			// cmd.exe's own quoting, which is how ^"…^" works.
			line.WriteByte(s[i])
		case c == '"':
			inQuote = !inQuote
			line.WriteByte(c)
		case c == '\n':
			flush(i)
		case (c == '&' || c == '|') && !inQuote:
			flush(i)
		default:
			line.WriteByte(c)
		}
	}
	flush(len(s))
	return cmds
}

// crtArgs splits a command line as the Microsoft C runtime does.
func crtArgs(s string) []string {
	var args []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			return args
		}
		var b strings.Builder
		inQ := false
	arg:
		for i < len(s) {
			c := s[i]
			switch {
			case c == '\\':
				n := 0
				for i < len(s) && s[i] == '\\' {
					n++
					i++
				}
				if i < len(s) && s[i] == '"' {
					b.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						b.WriteByte('"')
						i++
					}
				} else {
					b.WriteString(strings.Repeat(`\`, n))
				}
			case c == '"':
				if inQ && i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i += 2
					continue
				}
				inQ = !inQ
				i++
			case (c == ' ' || c == '\t' || c == '\n') && !inQ:
				break arg
			default:
				b.WriteByte(c)
				i++
			}
		}
		args = append(args, b.String())
	}
}
