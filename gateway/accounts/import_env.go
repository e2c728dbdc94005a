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

func (im *importer) parseEnv(text string) {
	var blocks []*envBlock
	groups := map[string]*envBlock{}
	var cur *envBlock
	comment := ""
	ignored := 0
	newBlock := func() *envBlock {
		b := &envBlock{vals: map[string]string{}, comment: comment}
		comment = ""
		blocks = append(blocks, b)
		return b
	}
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			cur = nil
			continue
		case strings.HasPrefix(t, "#"):
			cur = nil
			comment = strings.TrimSpace(strings.TrimLeft(t, "#"))
			continue
		case len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']':
			cur = nil // an INI-style [section] names the account like a comment
			comment = strings.TrimSpace(t[1 : len(t)-1])
			continue
		}
		if key, val, ok := parseEnvAssign(t); ok {
			base, num, style, known := parseEnvKey(key)
			if !known {
				continue // the other settings of a full .env file
			}
			if num != "" {
				g := groups[num]
				if g == nil {
					g = newBlock()
					g.num, g.style = num, style
					groups[num] = g
				}
				if _, dup := g.vals[base]; dup {
					g.notes = append(g.notes, g.keyFunc()(base)+" is set twice; the first value is used")
				} else {
					g.vals[base] = val
				}
				continue
			}
			// A key the current block already has starts the next account.
			if cur == nil {
				cur = newBlock()
			} else if _, dup := cur.vals[base]; dup {
				cur = newBlock()
			}
			cur.vals[base] = val
			continue
		}
		if us := geminiURLs(t); len(us) > 0 {
			if cur == nil {
				cur = newBlock()
			}
			for _, u := range us {
				cur.urlCSES = firstNonEmpty(cur.urlCSES, u.csesidx)
				cur.urlCID = firstNonEmpty(cur.urlCID, u.cid)
			}
			continue
		}
		ignored++
	}

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
	var accts []*envBlock
	for _, b := range joined {
		if b.hasCreds() {
			accts = append(accts, b)
		}
	}
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
	if ignored > 0 {
		im.problem(0, fmt.Sprintf("ignored %d line(s) that are neither KEY=value, a comment nor a Gemini Business URL", ignored))
	}
}

func usableComment(c string) bool {
	return c != "" && utf8.RuneCountInString(c) <= 64 && !strings.Contains(c, "=")
}
