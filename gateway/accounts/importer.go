package accounts

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
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

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
