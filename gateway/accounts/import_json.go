package accounts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JSON exports: this app's, the Python gateway's and other tools'.

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

// jsonItem reads one account object: its fields under any of their
// names (jsonFields), then what a cookie header, a cookie list or a page
// URL adds.
func (im *importer) jsonItem(item int, m map[string]any) {
	c := candidate{item: item, src: source{kind: fromJSON}}
	vals := jsonFields(m)
	in := Input{
		Name:       c.jsonText(vals, "name"),
		SecureCSES: c.jsonText(vals, "secure_c_ses"),
		HostCOSES:  c.jsonText(vals, "host_c_oses"),
		CSESIDX:    c.jsonText(vals, "csesidx"),
		ConfigID:   c.jsonText(vals, "config_id"),
		UserAgent:  c.jsonText(vals, "user_agent"),
	}
	in.IsActive = c.jsonActive(vals)
	if in.Name == "" {
		if e, ok := vals["email"].(string); ok {
			in.Name = e
		}
	}
	// Some tools keep the whole cookie header or the page URL instead of
	// the separate values; they fill only what is missing.
	c.jsonCookies(vals["cookie"], &in)
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

// jsonFields maps each field (a value of jsonAliases) to the value of the
// first of its keys, in jsonAliasOrder, that is not empty.
func jsonFields(m map[string]any) map[string]any {
	byNorm := map[string][]string{}
	for k := range m {
		n := normKey(k)
		if _, known := jsonAliases[n]; known {
			byNorm[n] = append(byNorm[n], k)
		}
	}
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
	return vals
}

// jsonText is a text field: a string, or a number written as digits.
func (c *candidate) jsonText(vals map[string]any, field string) string {
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

// jsonActive reads is_active, or else disabled (inverted); nil when
// neither is there.
func (c *candidate) jsonActive(vals map[string]any) *bool {
	if v, ok := vals["is_active"]; ok {
		if b, ok := jsonBool(v); ok {
			return &b
		}
		c.errs = append(c.errs, "is_active: must be true or false")
	} else if v, ok := vals["disabled"]; ok {
		if b, ok := jsonBool(v); ok {
			b = !b
			return &b
		}
		c.errs = append(c.errs, "disabled: must be true or false")
	}
	return nil
}

// jsonCookies fills the missing cookies of in from a cookie header string
// or a list of {name, value} objects (a browser's cookie export).
func (c *candidate) jsonCookies(v any, in *Input) {
	switch ck := v.(type) {
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
