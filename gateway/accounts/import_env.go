package accounts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gemgate/gemini-gateway/internal/dotenv"
)

// .env blocks: one or several accounts as KEY=value lines. The line
// syntax is internal/dotenv's, shared with app.ReadDotEnv.

// envKeyRE reads the account keys of a .env file: plain (SECURE_C_SES),
// numbered after (SECURE_C_SES_2) or before (ACCOUNT2_SECURE_C_SES).
// Account numbers have at most three digits, so a number in a message is
// never mistaken for a csesidx.
var envKeyRE = regexp.MustCompile(`^(?:ACCOUNT_?(\d{1,3})_)?(SECURE_C_SES|HOST_C_OSES|CSESIDX|CONFIG_ID|TEAM_ID|GROUP_ID|ACCOUNT_NAME|NAME)(?:_?(\d{1,3}))?$`)

// parseEnvKey returns the base key (SECURE_C_SES, HOST_C_OSES, CSESIDX,
// CONFIG_ID or NAME), the account number ("" if none) and whether the
// number came as a prefix or a suffix. Cookie names work as keys too
// ("__Secure-C_SES=…" on a line of its own).
func parseEnvKey(key string) (base, num, style string, ok bool) {
	k := strings.TrimLeft(strings.ReplaceAll(strings.ToUpper(key), "-", "_"), "_")
	m := envKeyRE.FindStringSubmatch(k)
	if m == nil {
		return "", "", "", false
	}
	base = m[2]
	switch base {
	case "TEAM_ID", "GROUP_ID":
		base = "CONFIG_ID"
	case "ACCOUNT_NAME":
		base = "NAME"
	}
	switch {
	case m[1] != "":
		num, style = m[1], "prefix"
	case m[3] != "":
		num, style = m[3], "suffix"
	}
	if num != "" {
		// ACCOUNT01_… and ACCOUNT1_… are the same account.
		if n, err := strconv.Atoi(num); err == nil {
			num = strconv.Itoa(n)
		}
	}
	return base, num, style, true
}

// parseEnvAssign reads "KEY=value" as any .env line is read
// (dotenv.ParseLine: optional export/set/$env: prefix, quotes, a trailing
// comment). An unquoted value with further "name=value" pairs after a
// semicolon is a cookie header, not an assignment.
func parseEnvAssign(t string) (key, value string, ok bool) {
	key, value, ok = dotenv.ParseLine(t)
	if !ok {
		return "", "", false
	}
	_, raw, _ := strings.Cut(t, "=")
	raw = strings.TrimSpace(raw)
	quoted := strings.HasPrefix(raw, `"`) || strings.HasPrefix(raw, "'")
	if i := strings.IndexByte(value, ';'); !quoted && i >= 0 && strings.TrimSpace(value[i+1:]) != "" {
		return "", "", false
	}
	return key, value, true
}

// envBlock is one account of a .env text: a numbered group or a block of
// unnumbered keys.
type envBlock struct {
	num, style string
	vals       map[string]string
	// urlCSES and urlCID come from an address bar URL pasted among the
	// lines; explicit keys win over them.
	urlCSES, urlCID string
	comment         string
	notes           []string
}

func (b *envBlock) has(base string) bool {
	switch {
	case base == "CSESIDX" && b.urlCSES != "", base == "CONFIG_ID" && b.urlCID != "":
		return true
	}
	_, ok := b.vals[base]
	return ok
}

func (b *envBlock) hasCreds() bool {
	return b.has("SECURE_C_SES") || b.has("HOST_C_OSES") || b.has("CSESIDX") || b.has("CONFIG_ID")
}

func (b *envBlock) complete() bool {
	return b.has("SECURE_C_SES") && b.has("CSESIDX") && b.has("CONFIG_ID")
}

func (b *envBlock) keyFunc() func(string) string {
	num, style := b.num, b.style
	return func(base string) string {
		switch style {
		case "prefix":
			return "ACCOUNT" + num + "_" + base
		case "suffix":
			return base + "_" + num
		}
		return base
	}
}

var envBases = []string{"SECURE_C_SES", "HOST_C_OSES", "CSESIDX", "CONFIG_ID", "NAME"}

// canJoin tells whether b continues a: a blank line or comment inside one
// account's lines must not split it, but a complete account followed by
// another must stay two. So two blocks join only when neither repeats a
// key of the other and the first is still incomplete.
func canJoin(a, b *envBlock) bool {
	if a.num != "" || b.num != "" || a.complete() {
		return false
	}
	for _, k := range envBases {
		if a.has(k) && b.has(k) {
			return false
		}
	}
	return !b.complete() || !a.hasCreds()
}

// parseEnv reads .env-style text: the lines make blocks (envScan), blocks
// split by a blank line or a comment join back into one account where
// they can (joinEnvBlocks), and each block with credentials becomes a
// candidate.
func (im *importer) parseEnv(text string) {
	sc := envScan{groups: map[string]*envBlock{}}
	for _, line := range strings.Split(text, "\n") {
		sc.line(strings.TrimSpace(line))
	}
	var accts []*envBlock
	for _, b := range joinEnvBlocks(sc.blocks) {
		if b.hasCreds() {
			accts = append(accts, b)
		}
	}
	im.addEnvAccounts(accts)
	if sc.ignored > 0 {
		im.problem(0, fmt.Sprintf("ignored %d line(s) that are neither KEY=value, a comment nor a Gemini Business URL", sc.ignored))
	}
}

// envScan groups the lines of a .env text into blocks, in order: one per
// numbered group (ACCOUNT1_…, …_2), and runs of unnumbered keys.
type envScan struct {
	blocks  []*envBlock
	groups  map[string]*envBlock // numbered blocks by number
	cur     *envBlock            // the run of unnumbered keys being read
	comment string               // the last comment, for the next block
	ignored int                  // lines that are none of the above
}

func (s *envScan) newBlock() *envBlock {
	b := &envBlock{vals: map[string]string{}, comment: s.comment}
	s.comment = ""
	s.blocks = append(s.blocks, b)
	return b
}

// line reads one trimmed line.
func (s *envScan) line(t string) {
	switch {
	case t == "":
		s.cur = nil
		return
	case strings.HasPrefix(t, "#"):
		s.cur = nil
		s.comment = strings.TrimSpace(strings.TrimLeft(t, "#"))
		return
	case len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']':
		s.cur = nil // an INI-style [section] names the account like a comment
		s.comment = strings.TrimSpace(t[1 : len(t)-1])
		return
	}
	if key, val, ok := parseEnvAssign(t); ok {
		if base, num, style, known := parseEnvKey(key); known {
			s.assign(base, num, style, val)
		}
		return // an unknown key is one of the other settings of a full .env file
	}
	if us := geminiURLs(t); len(us) > 0 {
		if s.cur == nil {
			s.cur = s.newBlock()
		}
		for _, u := range us {
			s.cur.urlCSES = firstNonEmpty(s.cur.urlCSES, u.csesidx)
			s.cur.urlCID = firstNonEmpty(s.cur.urlCID, u.cid)
		}
		return
	}
	s.ignored++
}

// assign puts a known key's value in its block.
func (s *envScan) assign(base, num, style, val string) {
	if num != "" {
		g := s.groups[num]
		if g == nil {
			g = s.newBlock()
			g.num, g.style = num, style
			s.groups[num] = g
		}
		if _, dup := g.vals[base]; dup {
			g.notes = append(g.notes, g.keyFunc()(base)+" is set twice; the first value is used")
		} else {
			g.vals[base] = val
		}
		return
	}
	// A key the current block already has starts the next account.
	if s.cur == nil {
		s.cur = s.newBlock()
	} else if _, dup := s.cur.vals[base]; dup {
		s.cur = s.newBlock()
	}
	s.cur.vals[base] = val
}

// joinEnvBlocks merges each block into the one before it where canJoin
// allows.
func joinEnvBlocks(blocks []*envBlock) []*envBlock {
	var joined []*envBlock
	for _, b := range blocks {
		if n := len(joined); n > 0 && canJoin(joined[n-1], b) {
			a := joined[n-1]
			for k, v := range b.vals {
				a.vals[k] = v
			}
			a.urlCSES = firstNonEmpty(a.urlCSES, b.urlCSES)
			a.urlCID = firstNonEmpty(a.urlCID, b.urlCID)
			a.comment = firstNonEmpty(a.comment, b.comment)
			a.notes = append(a.notes, b.notes...)
			continue
		}
		joined = append(joined, b)
	}
	return joined
}

// addEnvAccounts makes a candidate of each account block.
func (im *importer) addEnvAccounts(accts []*envBlock) {
	// "# name" above each of several accounts names them; a single
	// account's comment is more likely a heading ("# Gemini credentials"),
	// and a comment shared by several would make the names collide.
	commentUses := map[string]int{}
	for _, b := range accts {
		commentUses[b.comment]++
	}
	for i, b := range accts {
		item := i + 1
		for _, n := range b.notes {
			im.problem(item, n)
		}
		in := Input{
			Name:       b.vals["NAME"],
			SecureCSES: b.vals["SECURE_C_SES"],
			HostCOSES:  b.vals["HOST_C_OSES"],
			CSESIDX:    firstNonEmpty(b.vals["CSESIDX"], b.urlCSES),
			ConfigID:   firstNonEmpty(b.vals["CONFIG_ID"], b.urlCID),
		}
		if strings.TrimSpace(in.Name) == "" && len(accts) > 1 && commentUses[b.comment] == 1 && usableComment(b.comment) {
			in.Name = b.comment
		}
		im.cands = append(im.cands, candidate{item: item, in: in, src: source{kind: fromEnv, envKey: b.keyFunc()}})
	}
}

func usableComment(c string) bool {
	return c != "" && utf8.RuneCountInString(c) <= 64 && !strings.Contains(c, "=")
}
