package accounts

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ImportFormat names a kind of text ParseImport understands.
type ImportFormat string

// The formats DetectFormat reports.
const (
	// FormatJSON is an array of accounts, one account object, an object
	// with an "accounts" array, or JSON Lines of those.
	FormatJSON ImportFormat = "json"
	// FormatEnv is a .env block of SECURE_C_SES=…, CSESIDX=…, CONFIG_ID=…
	// lines, possibly numbered or repeated for several accounts.
	FormatEnv ImportFormat = "env"
	// FormatCookie is a browser Cookie header together with the Gemini
	// Business address bar URL.
	FormatCookie ImportFormat = "cookie"
	// FormatCurl is one or more requests copied from DevTools as cURL
	// (bash or Windows cmd quoting).
	FormatCurl ImportFormat = "curl"
	// FormatUnknown is anything else.
	FormatUnknown ImportFormat = "unknown"
)

// ImportProblem is something ParseImport could not use. Messages name
// fields and cookies but never contain their values, so they can be shown
// and logged as they are.
type ImportProblem struct {
	// Item is the 1-based position of the item in the input (array
	// element, .env account, cookie header, curl command), 0 if the
	// problem concerns the whole text.
	Item int
	// Message says what is wrong and what to paste instead.
	Message string
}

// String renders the problem as "item N: message".
func (p ImportProblem) String() string {
	if p.Item > 0 {
		return fmt.Sprintf("item %d: %s", p.Item, p.Message)
	}
	return p.Message
}

// addressBar shows users the URL that holds csesidx and config_id.
const addressBar = "https://business.gemini.google/home/cid/<config id>?csesidx=<number>"

// howToCurl says where the one request that carries everything is.
const howToCurl = `in DevTools → Network, filter "getoxsrf", right-click the request and choose Copy → Copy as cURL`

// ParseImport reads every account it can find in text a user pasted or a
// file they dropped, in any of the supported formats, and reports what it
// could not use. It never returns secret values inside problems.
//
// Every returned Input is normalized and passes Validate(false); accounts
// that repeat an earlier csesidx and config_id are left out and reported.
// When nothing is returned there is at least one problem.
func ParseImport(text string) ([]Input, []ImportProblem) {
	if len(text) > maxImportSize {
		return nil, []ImportProblem{{Message: "the text is larger than 16 MiB, far more than any account export or copied request: choose the export file itself"}}
	}
	text = cleanText(text)
	im := &importer{}
	switch detect(text) {
	case FormatJSON:
		im.parseJSON(text)
	case FormatEnv:
		im.parseEnv(text)
	case FormatCookie:
		im.parseCookie(text)
	case FormatCurl:
		im.parseCurl(text)
	default:
		im.unknown(text)
	}
	out := im.finish()
	if len(out) == 0 && len(im.problems) == 0 {
		im.problem(0, "no accounts found in the text")
	}
	return out, im.problems
}

// maxImportSize bounds what ParseImport reads: exports and copied requests
// are kilobytes, and a huge dropped file is something else.
const maxImportSize = 16 << 20

// DetectFormat tells which format ParseImport will read text as.
func DetectFormat(text string) ImportFormat {
	return detect(cleanText(text))
}

// cleanText removes what editors and Windows add around the text, so the
// parsers only see "\n" line ends.
func cleanText(text string) string {
	text = strings.TrimPrefix(text, "\uFEFF")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.ReplaceAll(text, "\r", "\n")
}

var curlLineRE = regexp.MustCompile(`(?mi)^[ \t]*(?:[$>][ \t]*)?(?:[^\s'"]*[/\\])?curl(?:\.exe)?[ \t]`)

func detect(text string) ImportFormat {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return FormatUnknown
	case looksJSON(t):
		return FormatJSON
	case curlLineRE.MatchString(text):
		return FormatCurl
	}
	if l := strings.ToLower(text); strings.Contains(l, "invoke-webrequest") || strings.Contains(l, "invoke-restmethod") {
		return FormatUnknown // PowerShell: its cookies come without the rest; see unknown
	}
	lines := strings.Split(text, "\n")
	// A cookie header is checked before .env lines because a bare header
	// ("__Secure-C_SES=…; __Host-C_OSES=…") also starts like KEY=value.
	for _, l := range lines {
		if isCookieHeaderLine(l) {
			return FormatCookie
		}
	}
	for _, l := range lines {
		if key, _, ok := parseEnvAssign(strings.TrimSpace(l)); ok {
			if base, _, _, ok := parseEnvKey(key); ok && base != "NAME" {
				return FormatEnv
			}
		}
	}
	if hasCookieName(text) || len(geminiURLs(text)) > 0 {
		return FormatCookie
	}
	return FormatUnknown
}

// looksJSON tells JSON from an INI-style "[account]" header: a text that
// starts with "[" is JSON only if it parses or its next character could
// start a JSON value other than a bare word.
func looksJSON(t string) bool {
	switch t[0] {
	case '{':
		return true
	case '[':
		rest := strings.TrimLeft(t[1:], " \t\n")
		if rest == "" || strings.ContainsRune(`{["]-0123456789`, rune(rest[0])) {
			return true
		}
		return json.Valid([]byte(t))
	}
	return false
}

// importer collects candidates and problems while a text is read.
type importer struct {
	cands    []candidate
	problems []ImportProblem
}

// candidate is one account as read, before validation.
type candidate struct {
	item int
	in   Input
	src  source
	// errs are problems found while reading; they drop the item.
	errs []string
}

type sourceKind int

const (
	fromJSON sourceKind = iota + 1
	fromEnv
	fromCookie
	fromCurl
)

// source remembers where a candidate came from, so that a missing field
// can be explained in the terms of what the user pasted.
type source struct {
	kind sourceKind
	// request is, for curl, "getoxsrf", a widget method name or "".
	request string
	// cookieHeader: a cookie header (or -b) was present.
	cookieHeader bool
	// hasURL: a Gemini Business URL was found (cookie format).
	hasURL bool
	// noSecrets: a JSON item with a config_id but no secrets at all, as an
	// export made without secrets is.
	noSecrets bool
	// envKey spells a .env key as this block does (numbered or not).
	envKey func(base string) string
}

func (im *importer) problem(item int, msg string) {
	im.problems = append(im.problems, ImportProblem{Item: item, Message: msg})
}

// finish validates the candidates in order, reports the invalid ones and
// duplicates, and returns the rest.
func (im *importer) finish() []Input {
	var out []Input
	first := map[string]int{}
	for _, c := range im.cands {
		if len(c.errs) > 0 {
			for _, e := range c.errs {
				im.problem(c.item, e)
			}
			continue
		}
		in := c.in.Normalize()
		if err := in.Validate(false); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				im.invalid(c, in, ve)
			} else {
				im.problem(c.item, "the account is not valid")
			}
			continue
		}
		key := in.CSESIDX + "\x00" + in.ConfigID
		if j, dup := first[key]; dup {
			im.problem(c.item, fmt.Sprintf("same csesidx and config_id as item %d: imported only once", j))
			continue
		}
		first[key] = c.item
		out = append(out, in)
	}
	return out
}

func fieldValue(in Input, field string) string {
	switch field {
	case "name":
		return in.Name
	case "secure_c_ses":
		return in.SecureCSES
	case "host_c_oses":
		return in.HostCOSES
	case "csesidx":
		return in.CSESIDX
	case "config_id":
		return in.ConfigID
	}
	return ""
}

// invalid reports each field Validate refused. A missing field gets a hint
// on where to find it in what the user pasted; a malformed one gets
// Validate's own message.
func (im *importer) invalid(c candidate, in Input, ve *ValidationError) {
	fields := make([]string, 0, len(ve.Fields))
	for f := range ve.Fields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	missing := func(f string) bool {
		_, bad := ve.Fields[f]
		return bad && fieldValue(in, f) == ""
	}
	done := map[string]bool{}
	// Both come from the one URL, so one message is enough.
	if c.src.kind == fromCookie && !c.src.hasURL && missing("config_id") && missing("csesidx") {
		im.problem(c.item, "config_id, csesidx: no Gemini Business URL found: paste the address bar too ("+addressBar+")")
		done["config_id"], done["csesidx"] = true, true
	}
	if c.src.kind == fromJSON && c.src.noSecrets && missing("secure_c_ses") && missing("csesidx") {
		im.problem(c.item, "secure_c_ses, csesidx: missing: this looks like an export made without secrets; export the accounts again with secrets included")
		done["secure_c_ses"], done["csesidx"] = true, true
	}
	for _, f := range fields {
		switch {
		case done[f]:
		case missing(f):
			im.problem(c.item, missingHint(f, c.src))
		default:
			im.problem(c.item, f+": "+ve.Fields[f])
		}
	}
}

// missingHint explains a missing required field in the terms of the
// format it was looked for in.
func missingHint(field string, s source) string {
	key := func(base string) string {
		if s.envKey != nil {
			return s.envKey(base)
		}
		return base
	}
	switch field {
	case "secure_c_ses":
		switch {
		case s.cookieHeader:
			return "secure_c_ses: found a cookie header but no __Secure-C_SES cookie in it: copy the cookie header of a request to business.gemini.google while signed in"
		case s.kind == fromCurl && strings.HasPrefix(s.request, "widget"):
			return "secure_c_ses: missing: a " + s.request + " request carries no cookies (it is signed with a token); copy the getoxsrf request as cURL too (" + howToCurl + ")"
		case s.kind == fromCurl:
			return "secure_c_ses: missing: the request sends no __Secure-C_SES cookie; copy a request to business.gemini.google as cURL instead (" + howToCurl + ")"
		case s.kind == fromCookie:
			return "secure_c_ses: found a Gemini Business URL but no cookie header: copy the cookie request header too (DevTools → Network → a request to business.gemini.google → Request Headers → cookie)"
		case s.kind == fromEnv:
			return "secure_c_ses: missing: add " + key("SECURE_C_SES") + "=<value of the __Secure-C_SES cookie>"
		}
		return `secure_c_ses: missing: set "secure_c_ses" to the value of the __Secure-C_SES cookie`
	case "csesidx":
		switch s.kind {
		case fromCookie:
			return "csesidx: the Gemini Business URL has no csesidx=<number>: copy the whole address bar (" + addressBar + ")"
		case fromCurl:
			return "csesidx: missing: neither the request URL, its referer nor its authorization token contains it; copy the getoxsrf request as cURL instead, or paste the address bar (" + addressBar + ") below the command"
		case fromEnv:
			return "csesidx: missing: add " + key("CSESIDX") + "=<the number after csesidx= in the Gemini Business address bar>"
		}
		return `csesidx: missing: set "csesidx" to the number after csesidx= in the Gemini Business address bar`
	case "config_id":
		switch {
		case s.kind == fromCookie:
			return "config_id: no Gemini Business URL with /cid/<config id> found: paste the address bar too (" + addressBar + ")"
		case s.kind == fromCurl && s.request == "getoxsrf":
			return "config_id: missing: a getoxsrf request does not contain it unless its referer is the full page address (it is the UUID after /cid/ in the address bar); paste the address bar (" + addressBar + ") below the command, or copy a widgetStreamAssist request as cURL too"
		case s.kind == fromCurl:
			return "config_id: missing: the request does not contain it (it is the UUID after /cid/ in the address bar); paste the address bar (" + addressBar + ") below the command"
		case s.kind == fromEnv:
			return "config_id: missing: add " + key("CONFIG_ID") + "=<the UUID after /cid/ in the Gemini Business address bar>"
		}
		return `config_id: missing: set "config_id" (or "team_id") to the UUID after /cid/ in the Gemini Business address bar`
	}
	return field + ": is required"
}

// unknown explains why nothing was recognised, guessing at the common
// wrong pastes.
func (im *importer) unknown(text string) {
	t := strings.TrimSpace(text)
	lower := strings.ToLower(t)
	switch {
	case t == "":
		im.problem(0, "nothing to import: the text is empty")
	case strings.Contains(lower, "invoke-webrequest") || strings.Contains(lower, "invoke-restmethod"):
		im.problem(0, "this looks like a request copied as PowerShell: in DevTools choose Copy as cURL (bash) or Copy as cURL (cmd) instead")
	case bareCookieRE.MatchString(t):
		im.problem(0, "this looks like a cookie value without its name: paste it as __Secure-C_SES=<value> together with the address bar ("+addressBar+"), or use the add-account form")
	default:
		im.problem(0, "could not recognise the text: paste a JSON export, a .env block (SECURE_C_SES=…, CSESIDX=…, CONFIG_ID=…), a cookie header together with the address bar URL, or a request copied as cURL from the browser's DevTools")
	}
}

var bareCookieRE = regexp.MustCompile(`(?:^|\s)(?:CSE|COS)\.[A-Za-z0-9_\-]{8,}`)

// ---------------------------------------------------------------- JSON

// jsonAliases maps a normalised JSON key (see normKey) to the Input field
// it holds. Several gateways name the same thing differently: config_id is
// "team_id" in some and "group_id" in others, and cookie names appear as
// themselves or camel-cased.
var jsonAliases = map[string]string{
	"name": "name", "accountname": "name", "displayname": "name",
	"securecses": "secure_c_ses",
	"hostcoses":  "host_c_oses",
	"csesidx":    "csesidx",
	"configid":   "config_id", "teamid": "config_id", "groupid": "config_id", "cid": "config_id",
	"useragent": "user_agent",
	"isactive":  "is_active", "active": "is_active", "enabled": "is_active", "available": "is_active",
	"disabled": "disabled",
	"email":    "email",
	"cookie":   "cookie", "cookies": "cookie", "cookieheader": "cookie",
	"url": "url", "pageurl": "url",
}

// jsonAliasOrder is the preference among keys holding the same field, so
// that an object with both "config_id" and "team_id" reads the same every
// time.
var jsonAliasOrder = []string{
	"name", "accountname", "displayname", "securecses", "hostcoses", "csesidx",
	"configid", "teamid", "groupid", "cid", "useragent",
	"isactive", "active", "enabled", "available", "disabled",
	"email", "cookie", "cookies", "cookieheader", "url", "pageurl",
}

// normKey folds "__Secure-C_SES", "secure_c_ses" and "secureCSes" together.
func normKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		switch r {
		case '_', '-', ' ', '.':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func (im *importer) parseJSON(text string) {
	// A decoder rather than Unmarshal, so that JSON Lines (one account per
	// line) and concatenated exports read too.
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	item := 0
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return
		}
		if err != nil {
			// encoding/json's messages quote the input, which may be a
			// secret, so only the position is reported.
			im.problem(0, jsonErrorMessage(text, err))
			return
		}
		im.jsonValue(v, &item)
	}
}

func jsonErrorMessage(text string, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 && int(se.Offset) <= len(text) {
		before := text[:se.Offset]
		line := strings.Count(before, "\n") + 1
		col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
		return fmt.Sprintf("the text is not valid JSON (error at line %d, column %d); export it again or paste it unchanged", line, col)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the JSON ends too early: a closing bracket, brace or quote is missing; paste all of it"
	}
	return "the text is not valid JSON; export it again or paste it unchanged"
}

func (im *importer) jsonValue(v any, item *int) {
	switch x := v.(type) {
	case []any:
		im.jsonList(x, item)
	case map[string]any:
		if acc, ok := lookupNorm(x, "accounts"); ok {
			if list, ok := acc.([]any); ok {
				im.jsonList(list, item)
			} else {
				im.problem(0, `"accounts" must be a list of accounts`)
			}
			return
		}
		switch {
		case isHAR(x):
			im.problem(0, "this is a HAR file, which cannot be imported: "+howToCurl+", and paste that instead")
		case isCookieObject(x):
			im.problem(0, cookieExportMessage)
		case hasAccountField(x):
			*item++
			im.jsonItem(*item, x)
		default:
			im.problem(0, `the JSON object holds no accounts: expected a list of accounts, an object with an "accounts" list, or one account with secure_c_ses, csesidx and config_id`)
		}
	default:
		im.problem(0, "the JSON value is not an account or a list of accounts")
	}
}

const cookieExportMessage = "this is a browser cookie export: it has the cookies but not csesidx and config_id; paste the cookie header together with the address bar (" + addressBar + ") instead"

func (im *importer) jsonList(list []any, item *int) {
	if len(list) == 0 {
		im.problem(0, "the JSON list is empty: there are no accounts in it")
		return
	}
	cookies := 0
	for _, el := range list {
		if m, ok := el.(map[string]any); ok && isCookieObject(m) {
			cookies++
		}
	}
	if cookies == len(list) {
		im.problem(0, cookieExportMessage)
		return
	}
	for _, el := range list {
		*item++
		m, ok := el.(map[string]any)
		switch {
		case !ok:
			im.problem(*item, `not a JSON object; each account must be an object like {"secure_c_ses": …, "csesidx": …, "config_id": …}`)
		case isCookieObject(m):
			im.problem(*item, "this is a browser cookie, not an account")
		default:
			im.jsonItem(*item, m)
		}
	}
}

func lookupNorm(m map[string]any, norm string) (any, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if normKey(k) == norm {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, false
	}
	sort.Strings(keys)
	return m[keys[0]], true
}

func isHAR(m map[string]any) bool {
	log, ok := m["log"].(map[string]any)
	if !ok {
		return false
	}
	_, ok = log["entries"]
	return ok
}

// isCookieObject recognises one cookie of a cookie-editor or DevTools
// export, whose "name" is a cookie name, not an account name.
func isCookieObject(m map[string]any) bool {
	_, n := m["name"]
	_, v := m["value"]
	_, d := m["domain"]
	_, p := m["path"]
	_, h := m["hostOnly"]
	return n && v && (d || p || h)
}

func hasAccountField(m map[string]any) bool {
	for k := range m {
		switch jsonAliases[normKey(k)] {
		case "secure_c_ses", "host_c_oses", "csesidx", "config_id", "cookie":
			return true
		}
	}
	return false
}

func (im *importer) jsonItem(item int, m map[string]any) {
	byNorm := map[string][]string{}
	for k := range m {
		n := normKey(k)
		if _, known := jsonAliases[n]; known {
			byNorm[n] = append(byNorm[n], k)
		}
	}
	c := candidate{item: item, src: source{kind: fromJSON}}
	vals := map[string]any{}
	for _, n := range jsonAliasOrder {
		keys := byNorm[n]
		sort.Strings(keys)
		field := jsonAliases[n]
		for _, k := range keys {
			if !isEmptyJSON(vals[field]) {
				break // a preferred key already gave a value
			}
			if v := m[k]; v != nil {
				vals[field] = v
			}
		}
	}
	text := func(field string) string {
		v, ok := vals[field]
		if !ok {
			return ""
		}
		switch x := v.(type) {
		case string:
			return x
		case json.Number:
			return x.String()
		}
		c.errs = append(c.errs, field+": must be text")
		return ""
	}
	in := Input{
		Name:       text("name"),
		SecureCSES: text("secure_c_ses"),
		HostCOSES:  text("host_c_oses"),
		CSESIDX:    text("csesidx"),
		ConfigID:   text("config_id"),
		UserAgent:  text("user_agent"),
	}
	if v, ok := vals["is_active"]; ok {
		if b, ok := jsonBool(v); ok {
			in.IsActive = &b
		} else {
			c.errs = append(c.errs, "is_active: must be true or false")
		}
	} else if v, ok := vals["disabled"]; ok {
		if b, ok := jsonBool(v); ok {
			b = !b
			in.IsActive = &b
		} else {
			c.errs = append(c.errs, "disabled: must be true or false")
		}
	}
	if in.Name == "" {
		if e, ok := vals["email"].(string); ok {
			in.Name = e
		}
	}
	// Some tools keep the whole cookie header or the page URL instead of
	// the separate values; they fill only what is missing.
	switch ck := vals["cookie"].(type) {
	case string:
		sec, host := cookiesFrom(ck)
		c.src.cookieHeader = true
		in.SecureCSES = firstNonEmpty(in.SecureCSES, sec)
		in.HostCOSES = firstNonEmpty(in.HostCOSES, host)
	case []any:
		for _, el := range ck {
			cm, ok := el.(map[string]any)
			if !ok {
				continue
			}
			name, _ := cm["name"].(string)
			value, _ := cm["value"].(string)
			switch {
			case strings.EqualFold(name, "__Secure-C_SES") && in.SecureCSES == "":
				in.SecureCSES = value
			case strings.EqualFold(name, "__Host-C_OSES") && in.HostCOSES == "":
				in.HostCOSES = value
			}
		}
		c.src.cookieHeader = true
	}
	if u, ok := vals["url"].(string); ok {
		if p, ok := urlParts(u); ok {
			in.CSESIDX = firstNonEmpty(in.CSESIDX, p.csesidx)
			in.ConfigID = firstNonEmpty(in.ConfigID, p.cid)
		}
	}
	c.src.noSecrets = in.SecureCSES == "" && in.HostCOSES == "" && in.CSESIDX == "" && in.ConfigID != ""
	c.in = in
	im.cands = append(im.cands, c)
}

func isEmptyJSON(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

func jsonBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case json.Number:
		switch x.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "y", "on", "active", "enabled":
			return true, true
		case "false", "0", "no", "n", "off", "inactive", "disabled":
			return false, true
		}
	}
	return false, false
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// ---------------------------------------------------------------- .env

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

var envKeyChars = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)

// parseEnvAssign reads "KEY=value" with an optional export/set/$env:
// prefix, quotes and a trailing comment. A value with further "name=value"
// pairs after a semicolon is a cookie header, not an assignment.
func parseEnvAssign(t string) (key, value string, ok bool) {
	for _, p := range []string{"export ", "set ", "$env:"} {
		if len(t) > len(p) && strings.EqualFold(t[:len(p)], p) {
			t = strings.TrimSpace(t[len(p):])
			break
		}
	}
	key, value, found := strings.Cut(t, "=")
	key = strings.TrimSpace(key)
	if !found || !envKeyChars.MatchString(key) {
		return "", "", false
	}
	value = strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(value, `"`):
		var b strings.Builder
		for i := 1; i < len(value); i++ {
			c := value[i]
			if c == '\\' && i+1 < len(value) {
				i++
				b.WriteByte(value[i])
				continue
			}
			if c == '"' {
				return key, b.String(), true
			}
			b.WriteByte(c)
		}
		return key, b.String(), true
	case strings.HasPrefix(value, "'"):
		v := value[1:]
		if i := strings.IndexByte(v, '\''); i >= 0 {
			v = v[:i]
		}
		return key, v, true
	}
	if i := strings.Index(value, " #"); i >= 0 {
		value = value[:i]
	}
	if i := strings.Index(value, "\t#"); i >= 0 {
		value = value[:i]
	}
	value = strings.TrimSpace(value)
	if i := strings.IndexByte(value, ';'); i >= 0 && strings.TrimSpace(value[i+1:]) != "" {
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

// ---------------------------------------------------------------- cookie header

// cookiePairRE finds name=value pairs in a cookie header, wherever the
// header starts on the line ("Cookie: ", "-b '", or nothing).
var cookiePairRE = regexp.MustCompile(`(?:^|[\s;:,'"])([A-Za-z0-9_.\-]+)=([^;\s,]*)`)

// cookiesFrom returns the first __Secure-C_SES and __Host-C_OSES values in
// a cookie header.
func cookiesFrom(header string) (secure, host string) {
	for _, m := range cookiePairRE.FindAllStringSubmatch(header, -1) {
		switch {
		case strings.EqualFold(m[1], "__Secure-C_SES") && secure == "":
			secure = m[2]
		case strings.EqualFold(m[1], "__Host-C_OSES") && host == "":
			host = m[2]
		}
	}
	return secure, host
}

func hasCookieName(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "__secure-c_ses") || strings.Contains(l, "__host-c_oses")
}

// isCookieHeaderLine recognises a "Cookie:" line or a bare header with at
// least two cookies, one of them an account cookie.
func isCookieHeaderLine(line string) bool {
	l := strings.ToLower(strings.TrimSpace(line))
	if strings.HasPrefix(l, "cookie:") {
		return true
	}
	return hasCookieName(l) && len(cookiePairRE.FindAllStringIndex(l, 3)) >= 2
}

// isCookieLine is any line the cookie format takes cookies from.
func isCookieLine(line string) bool {
	return isCookieHeaderLine(line) || strings.Contains(strings.ToLower(line), "__secure-c_ses=") ||
		strings.Contains(strings.ToLower(line), "__host-c_oses=")
}

// geminiURLRE finds Gemini Business addresses, with or without a scheme.
var geminiURLRE = regexp.MustCompile(`(?i)(?:https?://)?(?:[a-z0-9-]+\.)*business\.gemini\.google(?::[0-9]+)?(?:/[^\s"'<>` + "`" + `\\^]*)?`)

// pageURL is what an address tells about an account.
type pageURL struct{ cid, csesidx string }

func geminiURLs(text string) []pageURL {
	var out []pageURL
	for _, m := range geminiURLRE.FindAllString(text, -1) {
		if p, ok := urlParts(m); ok {
			out = append(out, p)
		}
	}
	return out
}

// urlParts reads the config id (the path segment after /cid/) and the
// csesidx query parameter of any URL.
func urlParts(raw string) (pageURL, bool) {
	raw = strings.TrimRight(strings.TrimSpace(raw), ".,;:)]}")
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return pageURL{}, false
	}
	var p pageURL
	p.csesidx = u.Query().Get("csesidx")
	segs := strings.Split(u.Path, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "cid" {
			p.cid = segs[i+1]
			break
		}
	}
	return p, p.cid != "" || p.csesidx != ""
}

// cookieHeader is the account cookies of one cookie header.
type cookieHeader struct{ secure, host string }

func (im *importer) parseCookie(text string) {
	var headers []cookieHeader
	var extra []string // non-cookie lines: URLs, stray KEY=value
	for _, l := range strings.Split(text, "\n") {
		if isCookieLine(l) {
			s, h := cookiesFrom(l)
			headers = append(headers, cookieHeader{s, h})
		} else {
			extra = append(extra, l)
		}
	}
	urls := geminiURLs(text)

	var secures []cookieHeader
	seen := map[string]bool{}
	for _, h := range headers {
		if h.secure != "" && !seen[h.secure] {
			seen[h.secure] = true
			secures = append(secures, h)
		}
	}
	if len(secures) > 1 {
		im.cookieAccounts(secures, urls)
		return
	}

	in := Input{}
	for _, h := range headers {
		in.SecureCSES = firstNonEmpty(in.SecureCSES, h.secure)
		in.HostCOSES = firstNonEmpty(in.HostCOSES, h.host)
	}
	cids, idxs := distinct(urls)
	if len(cids) > 1 || len(idxs) > 1 {
		im.problem(0, "the text holds addresses of several different accounts but one cookie header: paste one account's cookie header and address bar at a time")
		return
	}
	if len(cids) == 1 {
		in.ConfigID = cids[0]
	}
	if len(idxs) == 1 {
		in.CSESIDX = idxs[0]
	}
	// People also type the values next to the header; use them if the URL
	// left something out.
	for _, l := range extra {
		key, val, ok := parseEnvAssign(strings.TrimSpace(l))
		if !ok {
			continue
		}
		switch base, num, _, _ := parseEnvKey(key); {
		case num != "":
		case base == "CSESIDX":
			in.CSESIDX = firstNonEmpty(in.CSESIDX, val)
		case base == "CONFIG_ID":
			in.ConfigID = firstNonEmpty(in.ConfigID, val)
		case base == "NAME":
			in.Name = firstNonEmpty(in.Name, val)
		}
	}
	src := source{kind: fromCookie, cookieHeader: len(headers) > 0, hasURL: len(urls) > 0}
	im.cands = append(im.cands, candidate{item: 1, in: in, src: src})
}

// distinct returns the different config ids and csesidx values in urls.
func distinct(urls []pageURL) (cids, idxs []string) {
	seen := map[string]bool{}
	for _, u := range urls {
		if c := strings.ToLower(u.cid); c != "" && !seen["c"+c] {
			seen["c"+c] = true
			cids = append(cids, u.cid)
		}
		if u.csesidx != "" && !seen["i"+u.csesidx] {
			seen["i"+u.csesidx] = true
			idxs = append(idxs, u.csesidx)
		}
	}
	return cids, idxs
}

// cookieAccounts pairs several cookie headers with as many addresses, in
// the order they were pasted; any other count cannot be paired safely.
func (im *importer) cookieAccounts(headers []cookieHeader, urls []pageURL) {
	var pages []pageURL
	seen := map[pageURL]bool{}
	for _, u := range urls {
		if u.cid == "" || u.csesidx == "" {
			continue // a partial address is a copy of a full one or unusable
		}
		key := pageURL{strings.ToLower(u.cid), u.csesidx}
		if !seen[key] {
			seen[key] = true
			pages = append(pages, u)
		}
	}
	if len(pages) != len(headers) {
		im.problem(0, fmt.Sprintf("found %d different __Secure-C_SES cookies but %d complete Gemini Business addresses: paste each account's cookie header together with its address bar (%s)", len(headers), len(pages), addressBar))
		return
	}
	for i, h := range headers {
		in := Input{SecureCSES: h.secure, HostCOSES: h.host, CSESIDX: pages[i].csesidx, ConfigID: pages[i].cid}
		im.cands = append(im.cands, candidate{item: i + 1, in: in, src: source{kind: fromCookie, cookieHeader: true, hasURL: true}})
	}
}

// ---------------------------------------------------------------- curl

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

// splitBash splits text into commands and words as bash would for the
// subset DevTools produces: '…', "…", $'…', backslash escapes and line
// continuations, and ; & | newlines between commands.
func splitBash(s string) []shellCmd {
	var cmds []shellCmd
	cur := shellCmd{start: -1}
	var word strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			cur.args = append(cur.args, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func(pos int) {
		endWord()
		if len(cur.args) > 0 || cur.err != "" {
			cur.end = pos
			cmds = append(cmds, cur)
		}
		cur = shellCmd{start: -1}
	}
	startWord := func(i int) {
		if cur.start < 0 {
			cur.start = i
		}
		inWord = true
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 < len(s) && s[i+1] == '\n' {
				i += 2 // line continuation
				continue
			}
			startWord(i)
			if i+1 < len(s) {
				word.WriteByte(s[i+1])
			}
			i += 2
		case c == ' ' || c == '\t':
			endWord()
			i++
		case c == '\n' || c == ';' || c == '&' || c == '|':
			endCmd(i)
			i++
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '\'':
			startWord(i)
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				word.WriteString(s[i+1:])
				cur.err = unterminatedQuote
				i = len(s)
				continue
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case c == '"' || (c == '$' && i+1 < len(s) && s[i+1] == '"'):
			startWord(i)
			if c == '$' {
				i++
			}
			var ok bool
			i, ok = readDoubleQuoted(s, i+1, &word)
			if !ok {
				cur.err = unterminatedQuote
			}
		case c == '$' && i+1 < len(s) && s[i+1] == '\'':
			startWord(i)
			var ok bool
			i, ok = readANSIC(s, i+2, &word)
			if !ok {
				cur.err = unterminatedQuote
			}
		default:
			startWord(i)
			word.WriteByte(c)
			i++
		}
	}
	endCmd(len(s))
	return cmds
}

// readDoubleQuoted reads a bash "…" string from just after the quote and
// returns the index after the closing quote.
func readDoubleQuoted(s string, i int, w *strings.Builder) (int, bool) {
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\' && i+1 < len(s):
			switch s[i+1] {
			case '\n':
			case '"', '\\', '$', '`':
				w.WriteByte(s[i+1])
			default:
				w.WriteByte('\\')
				w.WriteByte(s[i+1])
			}
			i += 2
		default:
			w.WriteByte(c)
			i++
		}
	}
	return i, false
}

// readANSIC reads a bash $'…' string, which DevTools uses when a value
// holds quotes or control characters.
func readANSIC(s string, i int, w *strings.Builder) (int, bool) {
	for i < len(s) {
		c := s[i]
		if c == '\'' {
			return i + 1, true
		}
		if c != '\\' || i+1 >= len(s) {
			w.WriteByte(c)
			i++
			continue
		}
		e := s[i+1]
		i += 2
		switch e {
		case 'n':
			w.WriteByte('\n')
		case 't':
			w.WriteByte('\t')
		case 'r':
			w.WriteByte('\r')
		case 'a':
			w.WriteByte('\a')
		case 'b':
			w.WriteByte('\b')
		case 'f':
			w.WriteByte('\f')
		case 'v':
			w.WriteByte('\v')
		case 'e', 'E':
			w.WriteByte(0x1b)
		case '\\', '\'', '"', '?':
			w.WriteByte(e)
		case 'x', 'u', 'U':
			digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			j := i
			for j < len(s) && j-i < digits && isHex(s[j]) {
				j++
			}
			if j == i {
				w.WriteByte('\\')
				w.WriteByte(e)
				continue
			}
			n, _ := strconv.ParseUint(s[i:j], 16, 32)
			if e == 'x' {
				w.WriteByte(byte(n))
			} else if r := rune(n); utf8.ValidRune(r) {
				w.WriteRune(r)
			}
			i = j
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i - 1
			for j < len(s) && j-(i-1) < 3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint(s[i-1:j], 8, 16)
			w.WriteByte(byte(n))
			i = j
		default:
			w.WriteByte('\\')
			w.WriteByte(e)
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

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

// isCurl recognises curl, curl.exe and a path to either.
func isCurl(arg string) bool {
	a := strings.ToLower(arg)
	if i := strings.LastIndexAny(a, `/\`); i >= 0 {
		a = a[i+1:]
	}
	return a == "curl" || a == "curl.exe"
}

// curlArgOpts are the long options whose value is the next argument; any
// other option is taken as a flag.
var curlArgOpts = map[string]bool{
	"url": true, "header": true, "cookie": true, "cookie-jar": true, "data": true, "data-raw": true,
	"data-binary": true, "data-ascii": true, "data-urlencode": true, "json": true, "referer": true,
	"user-agent": true, "request": true, "output": true, "user": true, "proxy": true, "proxy-user": true,
	"max-time": true, "connect-timeout": true, "form": true, "form-string": true, "upload-file": true,
	"write-out": true, "resolve": true, "connect-to": true, "cacert": true, "capath": true, "cert": true,
	"key": true, "config": true, "range": true, "retry": true, "retry-delay": true, "retry-max-time": true,
	"limit-rate": true, "interface": true, "dump-header": true, "oauth2-bearer": true, "proto": true,
	"proto-redir": true, "max-redirs": true, "max-filesize": true, "cert-type": true, "key-type": true,
	"ciphers": true, "local-port": true, "dns-servers": true, "expect100-timeout": true,
	"keepalive-time": true, "continue-at": true, "time-cond": true, "trace": true, "trace-ascii": true,
	"stderr": true, "variable": true, "url-query": true, "unix-socket": true, "aws-sigv4": true,
	"noproxy": true, "preproxy": true, "socks5": true, "socks5-hostname": true, "request-target": true,
}

// curlShortArgOpts are the short options that take a value.
const curlShortArgOpts = "AbcCdDeEFHKmoPQrtTuUwxXyYz"

var curlShortNames = map[byte]string{'H': "header", 'b': "cookie", 'd': "data", 'e': "referer"}

// curlRequest is what a curl command says about its request.
type curlRequest struct {
	urls     []string
	explicit []string // --url values
	cookies  []string
	bodies   []string
	referer  string
	auth     string
}

func parseCurlArgs(args []string) curlRequest {
	var r curlRequest
	apply := func(name, val string) {
		switch name {
		case "url":
			r.explicit = append(r.explicit, val)
		case "header":
			k, v, _ := strings.Cut(val, ":")
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "cookie":
				r.cookies = append(r.cookies, v)
			case "referer":
				r.referer = v
			case "authorization":
				r.auth = v
			}
		case "cookie":
			if strings.Contains(val, "=") { // otherwise it names a cookie file
				r.cookies = append(r.cookies, val)
			}
		case "data", "data-raw", "data-binary", "data-ascii", "data-urlencode", "json":
			r.bodies = append(r.bodies, val)
		case "referer":
			r.referer, _, _ = strings.Cut(val, ";auto")
		case "oauth2-bearer":
			r.auth = "Bearer " + val
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			r.urls = append(r.urls, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name := strings.ToLower(a[2:])
			if curlArgOpts[name] && i+1 < len(args) {
				i++
				apply(name, args[i])
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				if !strings.ContainsRune(curlShortArgOpts, rune(a[j])) {
					continue
				}
				val := a[j+1:]
				if val == "" && i+1 < len(args) {
					i++
					val = args[i]
				}
				apply(curlShortNames[a[j]], val)
				break
			}
		default:
			r.urls = append(r.urls, a)
		}
	}
	return r
}

// url picks the request URL: --url first, then the first argument that
// looks like one, as a stray argument of an option we do not know may
// come before it.
func (r curlRequest) url() string {
	if len(r.explicit) > 0 {
		return r.explicit[0]
	}
	for _, u := range r.urls {
		if strings.Contains(u, "://") {
			return u
		}
	}
	if len(r.urls) > 0 {
		return r.urls[0]
	}
	return ""
}

var widgetMethods = []string{
	"widgetStreamAssist", "widgetCreateSession", "widgetAddContextFile", "widgetListSessions",
	"widgetGetSession", "widgetDeleteSession", "widgetListSessionFileMetadata",
}

// requestKind names the kind of request from a fixed list, never from the
// URL's own text.
func requestKind(rawURL string) string {
	p := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		p = u.Path
	}
	if strings.Contains(p, "getoxsrf") {
		return "getoxsrf"
	}
	for _, m := range widgetMethods {
		if strings.Contains(p, m) {
			return m
		}
	}
	if strings.Contains(p, "widget") {
		return "widget"
	}
	return ""
}

var configIDRE = regexp.MustCompile(`"configId"\s*:\s*"([^"\\]{1,200})"`)

// bodyConfigID reads configId from a widget request body.
func bodyConfigID(body string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) == nil {
		if s, ok := m["configId"].(string); ok {
			return s
		}
	}
	if m := configIDRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// jwtCSESIDX reads the csesidx from the subject ("csesidx/<n>") of the
// JWT a widget request is authorised with. Only the unsigned payload is
// read; the token itself is not kept.
func jwtCSESIDX(auth string) string {
	f := strings.Fields(auth)
	if len(f) != 2 || !strings.EqualFold(f[0], "bearer") {
		return ""
	}
	parts := strings.Split(f[1], ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	n, _ := strings.CutPrefix(claims.Sub, "csesidx/")
	if n == claims.Sub {
		return ""
	}
	return n
}

// partial is what one curl command or loose address contributes; partials
// that belong to the same account are merged.
type partial struct {
	item     int
	in       Input
	src      source
	loose    bool // an address pasted next to the commands
	absorbed bool
}

func (p *partial) hasData() bool {
	return p.in.SecureCSES != "" || p.in.HostCOSES != "" || p.in.CSESIDX != "" || p.in.ConfigID != ""
}

func (p *partial) complete() bool {
	return p.in.SecureCSES != "" && p.in.CSESIDX != "" && p.in.ConfigID != ""
}

// compatible: no field has two different values, so p and q can be one
// account. (Whether they are is decided by a shared csesidx or session
// cookie; see mergePartials.)
func compatible(p, q *partial) bool {
	same := func(a, b string) bool { return a == "" || b == "" || a == b }
	return same(p.in.SecureCSES, q.in.SecureCSES) && same(p.in.HostCOSES, q.in.HostCOSES) &&
		same(p.in.CSESIDX, q.in.CSESIDX) && same(p.in.ConfigID, q.in.ConfigID)
}

// fill takes from o what p lacks.
func (p *partial) fill(o *partial) {
	p.in.SecureCSES = firstNonEmpty(p.in.SecureCSES, o.in.SecureCSES)
	p.in.HostCOSES = firstNonEmpty(p.in.HostCOSES, o.in.HostCOSES)
	p.in.CSESIDX = firstNonEmpty(p.in.CSESIDX, o.in.CSESIDX)
	p.in.ConfigID = firstNonEmpty(p.in.ConfigID, o.in.ConfigID)
	p.src.cookieHeader = p.src.cookieHeader || o.src.cookieHeader
}

func curlPartial(item int, args []string) *partial {
	r := parseCurlArgs(args)
	reqURL := r.url()
	p := &partial{item: item, src: source{kind: fromCurl, request: requestKind(reqURL)}}
	for _, c := range r.cookies {
		s, h := cookiesFrom(c)
		p.in.SecureCSES = firstNonEmpty(p.in.SecureCSES, s)
		p.in.HostCOSES = firstNonEmpty(p.in.HostCOSES, h)
	}
	p.src.cookieHeader = len(r.cookies) > 0
	self, _ := urlParts(reqURL)
	ref, _ := urlParts(r.referer)
	// getoxsrf carries csesidx in its query; a page request or a full
	// referer carries both; a widget request has only the token's subject.
	p.in.CSESIDX = firstNonEmpty(self.csesidx, firstNonEmpty(ref.csesidx, jwtCSESIDX(r.auth)))
	for _, b := range r.bodies {
		p.in.ConfigID = firstNonEmpty(p.in.ConfigID, bodyConfigID(b))
	}
	p.in.ConfigID = firstNonEmpty(p.in.ConfigID, firstNonEmpty(self.cid, ref.cid))
	p.in = p.in.Normalize()
	return p
}

func hasAlnum(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

func (im *importer) parseCurl(text string) {
	var cmds []shellCmd
	if cmdFlavour(text) {
		cmds = splitCmd(text)
	} else {
		cmds = splitBash(text)
	}
	// What is left after blanking out the curl commands may hold the
	// address bar, pasted to supply what the requests lack.
	loose := []byte(text)
	var parts []*partial
	item, empty := 0, 0
	for _, c := range cmds {
		args := c.args
		for len(args) > 0 && (args[0] == "$" || args[0] == ">") {
			args = args[1:] // a shell prompt copied along
		}
		if len(args) == 0 || !isCurl(args[0]) {
			continue
		}
		if c.start >= 0 && c.end <= len(loose) {
			for i := c.start; i < c.end; i++ {
				if loose[i] != '\n' {
					loose[i] = ' '
				}
			}
		}
		item++
		if c.err != "" {
			im.problem(item, c.err)
			continue
		}
		p := curlPartial(item, args[1:])
		if !p.hasData() {
			empty++
			continue
		}
		parts = append(parts, p)
	}
	curls := len(parts)
	rest := string(loose)
	for _, u := range geminiURLs(rest) {
		p := &partial{loose: true, in: Input{CSESIDX: u.csesidx, ConfigID: u.cid}.Normalize()}
		parts = append(parts, p)
	}
	if hasAlnum(geminiURLRE.ReplaceAllString(rest, "")) {
		im.problem(0, "ignored text that is not a curl command or a Gemini Business address")
	}

	mergePartials(parts)

	// An address without csesidx can still be matched when exactly one
	// account lacks its config id.
	var looseCIDs []string
	var needCID []*partial
	for _, p := range parts {
		switch {
		case p.absorbed:
		case p.loose && p.in.CSESIDX == "" && p.in.ConfigID != "":
			if len(looseCIDs) == 0 || looseCIDs[0] != p.in.ConfigID {
				looseCIDs = append(looseCIDs, p.in.ConfigID)
			}
		case !p.loose && p.in.ConfigID == "":
			needCID = append(needCID, p)
		}
	}
	if len(looseCIDs) == 1 && len(needCID) == 1 {
		needCID[0].in.ConfigID = looseCIDs[0]
		for _, p := range parts {
			if p.loose && p.in.CSESIDX == "" && p.in.ConfigID == looseCIDs[0] {
				p.absorbed = true
			}
		}
	}

	unused := 0
	for _, p := range parts {
		switch {
		case p.absorbed:
		case p.loose:
			unused++
		default:
			im.cands = append(im.cands, candidate{item: p.item, in: p.in, src: p.src})
		}
	}
	if unused > 0 {
		im.problem(0, "a Gemini Business address in the text matches none of the curl commands (its csesidx differs or is missing), so it was not used")
	}
	switch {
	case empty > 0 && curls == 0 && item == 1:
		im.problem(1, "the curl command carries no account data (no __Secure-C_SES cookie, csesidx or configId): "+howToCurl)
	case empty > 0:
		im.problem(0, fmt.Sprintf("ignored %d curl command(s) that carry no account data (no __Secure-C_SES cookie, csesidx or configId)", empty))
	}
}

// mergePartials folds each incomplete partial into another one of the same
// account (same csesidx or session cookie, no conflicting value), so that
// a getoxsrf request (cookies, csesidx) and a widget request (configId)
// pasted together make one account. The earliest such partial is
// preferred, so the account keeps the position of its first command.
//
// Partials are indexed by csesidx and cookie so that "Copy all as cURL" of
// a long session, with hundreds of requests carrying the same cookie,
// merges in about linear time; and a search gives up after maxMergeTries
// candidates, which only a contrived paste reaches.
func mergePartials(parts []*partial) {
	index := map[string][]int{}
	keys := func(p *partial) []string {
		var k []string
		if p.in.CSESIDX != "" {
			k = append(k, "i"+p.in.CSESIDX)
		}
		if p.in.SecureCSES != "" {
			k = append(k, "s"+p.in.SecureCSES)
		}
		return k
	}
	for i, p := range parts {
		if !p.loose { // an address only ever joins a command
			for _, k := range keys(p) {
				index[k] = append(index[k], i)
			}
		}
	}
	for i, p := range parts {
		if p.absorbed || p.complete() {
			continue
		}
		best := -1
		for _, k := range keys(p) {
			list := index[k]
			for len(list) > 0 && parts[list[0]].absorbed {
				list = list[1:] // absorbed partials never come back
			}
			index[k] = list
			for n, j := range list {
				if n == maxMergeTries || best >= 0 && j > best {
					break
				}
				q := parts[j]
				if j != i && !q.absorbed && compatible(p, q) {
					best = j
					break
				}
			}
		}
		if best < 0 {
			continue
		}
		q := parts[best]
		before := keys(q)
		q.fill(p)
		p.absorbed = true
		for _, k := range keys(q) {
			if !slices.Contains(before, k) {
				index[k] = append(index[k], best)
			}
		}
	}
}

const maxMergeTries = 64
