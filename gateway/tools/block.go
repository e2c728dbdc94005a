package tools

import (
	"bytes"
	"encoding/json"
	"strings"
)

// rawCall is a call as written, before it is matched to a tool.
type rawCall struct {
	name string
	keys []string // raw <arg> elements, in order
	vals []string
	obj  map[string]any // arguments given as a JSON object
	body string         // neither: the element's text
}

// element kinds a block may hold, with their closing tags.
var elements = []struct{ open, close string }{
	{"<call", "</call>"},
	{"<invoke", "</invoke>"},
	{"<function=", "</function>"},
	{"<tool_call", "</tool_call>"},
}

var callFollowers = []string{"<call", "<invoke", "<function=", "<tool_call", "</tool_calls", "</function_calls", "</tool_call"}

// parseBlock parses a whole block (sentinel to end marker) into calls
// matched to the offered tools. With truncated set the end marker may be
// missing and only elements that closed count.
func (ps *Parser) parseBlock(block string, truncated bool) []Call {
	raws := extractCalls(block, truncated)
	var out []Call
	for _, rc := range raws {
		if c, ok := ps.plan.resolve(rc); ok {
			c.ID = NewCallID("call_")
			out = append(out, c)
		}
	}
	if ps.plan.NoParallel && len(out) > 1 {
		out = out[:1]
	}
	return out
}

// ParseBlock parses one complete block outside a stream (tests, tools).
func (p *Plan) ParseBlock(block string) []Call {
	return p.NewParser().parseBlock(block, false)
}

func extractCalls(block string, truncated bool) []rawCall {
	body := block
	for _, wrap := range []struct{ open, close string }{{openTag, closeTag}, {"<function_calls>", "</function_calls>"}} {
		if len(body) >= len(wrap.open) && strings.EqualFold(body[:len(wrap.open)], wrap.open) {
			gt := strings.IndexByte(body, '>')
			if gt < 0 {
				return nil
			}
			body = body[gt+1:]
			if e := lastIndexFold(body, wrap.close); e >= 0 {
				body = body[:e]
			}
			break
		}
	}
	var out []rawCall
	pos := 0
	found := false
	for {
		k, el := nextElement(body, pos)
		if k < 0 {
			break
		}
		found = true
		gt := strings.IndexByte(body[k:], '>')
		if gt < 0 {
			break
		}
		gt += k
		tag := body[k:gt]
		name := ""
		if el.open == "<function=" {
			name = strings.Trim(strings.TrimSpace(tag[len(el.open):]), `"'`)
		} else {
			name, _ = attr(tag, "name")
		}
		end := findClose(body, gt+1, el.close, callFollowers)
		if end < 0 {
			if truncated {
				break
			}
			end = len(body)
		}
		out = append(out, parseInner(name, body[gt+1:end], truncated)...)
		pos = min(end+len(el.close), len(body))
	}
	if !found {
		out = append(out, jsonCalls(body)...)
	}
	return out
}

// nextElement finds the next call element at or after pos.
func nextElement(s string, pos int) (int, *struct{ open, close string }) {
	for {
		j := strings.IndexByte(s[pos:], '<')
		if j < 0 {
			return -1, nil
		}
		pos += j
		for k := range elements {
			el := &elements[k]
			if !hasPrefixFold(s[pos:], el.open) {
				continue
			}
			next := byte('>')
			if len(s) > pos+len(el.open) {
				next = s[pos+len(el.open)]
			}
			if el.open == "<function=" || next == ' ' || next == '>' || next == '\n' || next == '\t' {
				return pos, el
			}
		}
		pos++
	}
}

func parseInner(name, inner string, truncated bool) []rawCall {
	if name == "" {
		// <tool_call>{"name":…,"arguments":…}</tool_call>, or another
		// element nested inside.
		if k, _ := nextElement(inner, 0); k >= 0 {
			return extractCalls(inner, truncated)
		}
		return jsonCalls(inner)
	}
	rc := rawCall{name: name}
	pos := 0
	for {
		k, closeTag, key, gt := nextArg(inner, pos)
		if k < 0 {
			break
		}
		end := findClose(inner, gt+1, closeTag, []string{"<arg", "<parameter"})
		if end < 0 {
			end = len(inner)
		}
		v := inner[gt+1 : end]
		v = strings.TrimPrefix(v, "\r")
		if strings.HasPrefix(v, "\r\n") {
			v = v[2:]
		} else {
			v = strings.TrimPrefix(v, "\n")
		}
		if closeTag == "</parameter>" {
			v = strings.TrimSuffix(v, "\n")
		}
		rc.keys = append(rc.keys, key)
		rc.vals = append(rc.vals, v)
		pos = min(end+len(closeTag), len(inner))
	}
	if len(rc.keys) == 0 {
		t := strings.TrimSpace(inner)
		if v, ok := parseLoose(t); ok {
			if m, ok := v.(map[string]any); ok {
				rc.obj = m
				return []rawCall{rc}
			}
		}
		rc.body = inner
	}
	return []rawCall{rc}
}

// nextArg finds <arg name="k">, <parameter name="k"> or <parameter=k>.
func nextArg(s string, pos int) (start int, closeTag, key string, gt int) {
	for {
		j := strings.IndexByte(s[pos:], '<')
		if j < 0 {
			return -1, "", "", 0
		}
		pos += j
		rest := s[pos:]
		var ct string
		switch {
		case hasPrefixFold(rest, "<arg ") || hasPrefixFold(rest, "<arg\t"):
			ct = "</arg>"
		case hasPrefixFold(rest, "<parameter ") || hasPrefixFold(rest, "<parameter="):
			ct = "</parameter>"
		default:
			pos++
			continue
		}
		g := strings.IndexByte(rest, '>')
		if g < 0 {
			return -1, "", "", 0
		}
		tag := rest[:g]
		k, ok := attr(tag, "name")
		if !ok {
			if eq := strings.IndexByte(tag, '='); eq >= 0 && ct == "</parameter>" {
				k = strings.Trim(strings.TrimSpace(tag[eq+1:]), `"'`)
				ok = k != ""
			}
		}
		if !ok {
			pos++
			continue
		}
		return pos, ct, k, pos + g
	}
}

// findClose finds the closing tag that ends an element whose content may
// itself contain the tag (a file that mentions </arg>): the first one
// followed, after space, by the end of s or one of the followers; else
// the last one.
func findClose(s string, from int, tag string, followers []string) int {
	last := -1
	for i := from; i <= len(s); {
		j := indexFold(s[i:], tag)
		if j < 0 {
			break
		}
		at := i + j
		last = at
		rest := strings.TrimLeft(s[at+len(tag):], " \t\r\n")
		if rest == "" {
			return at
		}
		for _, f := range followers {
			if hasPrefixFold(rest, f) {
				return at
			}
		}
		i = at + len(tag)
	}
	return last
}

// attr reads name="v", name='v' or name=v from a tag.
func attr(tag, name string) (string, bool) {
	for i := 0; ; {
		j := indexFold(tag[i:], name)
		if j < 0 {
			return "", false
		}
		at := i + j
		i = at + len(name)
		if at > 0 && !isSpace(tag[at-1]) {
			continue
		}
		rest := strings.TrimLeft(tag[i:], " ")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " ")
		if rest == "" {
			return "", true
		}
		if q := rest[0]; q == '"' || q == '\'' {
			if e := strings.IndexByte(rest[1:], q); e >= 0 {
				return rest[1 : 1+e], true
			}
			return strings.TrimRight(rest[1:], "/"), true
		}
		e := strings.IndexAny(rest, " \t\r\n/>")
		if e < 0 {
			e = len(rest)
		}
		return rest[:e], true
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && equalFoldASCII(s[:len(p)], p)
}

func lastIndexFold(s, sub string) int {
	if i := strings.LastIndex(s, sub); i >= 0 {
		return i
	}
	for i := len(s) - len(sub); i >= 0; i-- {
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// jsonCalls reads calls written as JSON: {"name","arguments"} (or
// parameters/input/args), an array of those, {"tool_calls":[…]} or
// OpenAI's {"function":{"name","arguments"}}.
func jsonCalls(s string) []rawCall {
	v, ok := parseLoose(s)
	if !ok {
		return nil
	}
	var out []rawCall
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 4 {
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		case map[string]any:
			if tc, ok := x["tool_calls"]; ok {
				walk(tc, depth+1)
				return
			}
			if f, ok := x["function"].(map[string]any); ok {
				walk(f, depth+1)
				return
			}
			name, _ := x["name"].(string)
			if name == "" {
				name, _ = x["tool"].(string)
			}
			if name == "" {
				return
			}
			rc := rawCall{name: name}
			for _, k := range []string{"arguments", "parameters", "args", "input"} {
				a, ok := x[k]
				if !ok {
					continue
				}
				switch av := a.(type) {
				case map[string]any:
					rc.obj = av
				case string:
					if pv, ok := parseLoose(av); ok {
						if m, ok := pv.(map[string]any); ok {
							rc.obj = m
							break
						}
					}
					rc.body = av
					if k == "input" {
						rc.keys, rc.vals = []string{"input"}, []string{av}
					}
				}
				break
			}
			if rc.obj == nil && rc.keys == nil && rc.body == "" {
				rc.obj = map[string]any{}
			}
			out = append(out, rc)
		}
	}
	walk(v, 0)
	return out
}

// marshalArgs writes arguments as compact JSON without HTML escaping.
func marshalArgs(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return "{}"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
