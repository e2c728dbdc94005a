package accounts

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// A browser cookie header together with the Gemini Business address bar.

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
