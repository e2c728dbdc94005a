package accounts

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// Joining what several curl commands and loose addresses say about one
// account, and the csesidx in a widget request's token.

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
