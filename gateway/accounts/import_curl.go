package accounts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Requests copied from DevTools as cURL: what each command says about an
// account.

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

// parseCurl reads curl commands (bash or cmd.exe quoting), plus any Gemini
// Business address pasted among them: each command gives what it carries
// of an account (curlCommands), the pieces of one account merge
// (mergePartials), and an address fills what the commands lack.
func (im *importer) parseCurl(text string) {
	parts, rest, commands, empty := im.curlCommands(text)
	curls := len(parts)
	for _, u := range geminiURLs(rest) {
		p := &partial{loose: true, in: Input{CSESIDX: u.csesidx, ConfigID: u.cid}.Normalize()}
		parts = append(parts, p)
	}
	if hasAlnum(geminiURLRE.ReplaceAllString(rest, "")) {
		im.problem(0, "ignored text that is not a curl command or a Gemini Business address")
	}

	mergePartials(parts)
	useLooseConfigID(parts)

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
	case empty > 0 && curls == 0 && commands == 1:
		im.problem(1, "the curl command carries no account data (no __Secure-C_SES cookie, csesidx or configId): "+howToCurl)
	case empty > 0:
		im.problem(0, fmt.Sprintf("ignored %d curl command(s) that carry no account data (no __Secure-C_SES cookie, csesidx or configId)", empty))
	}
}

// curlCommands splits text into shell commands and reads each curl among
// them: parts are those carrying account data, commands counts the curl
// commands and empty those without data. rest is the text with the curl
// commands blanked out, which may hold the address bar, pasted to supply
// what the requests lack.
func (im *importer) curlCommands(text string) (parts []*partial, rest string, commands, empty int) {
	var cmds []shellCmd
	if cmdFlavour(text) {
		cmds = splitCmd(text)
	} else {
		text = strings.ToValidUTF8(text, "\uFFFD") // as splitBash reads it
		cmds = splitBash(text)
	}
	loose := []byte(text)
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
		commands++
		if c.err != "" {
			im.problem(commands, c.err)
			continue
		}
		p := curlPartial(commands, args[1:])
		if !p.hasData() {
			empty++
			continue
		}
		parts = append(parts, p)
	}
	return parts, string(loose), commands, empty
}

// useLooseConfigID gives an address without csesidx (so matching no
// command by it) to the one account that lacks its config id, when there
// is exactly one of each.
func useLooseConfigID(parts []*partial) {
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
}
