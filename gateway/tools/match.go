package tools

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// Fuzzy matching of a misspelt tool name: the best candidate must be at
// least this similar, and this much better than the runner-up.
const (
	fuzzyMin    = 0.72
	fuzzyMargin = 0.08
)

// matchTool finds the offered tool a written name means: exactly, then
// ignoring case and -/_ differences, then by edit distance with a margin.
func (p *Plan) matchTool(name string) (chat.ToolDef, bool) {
	name = strings.TrimSpace(name)
	for _, t := range p.Offered {
		if t.Name == name {
			return t, true
		}
	}
	norm := normName(name)
	var hit []chat.ToolDef
	for _, t := range p.Offered {
		if normName(t.Name) == norm {
			hit = append(hit, t)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	if len(hit) > 1 || norm == "" {
		return chat.ToolDef{}, false
	}
	best, second := -1.0, -1.0
	var bt chat.ToolDef
	for _, t := range p.Offered {
		s := similarity(norm, normName(t.Name))
		if s > best {
			second, best, bt = best, s, t
		} else if s > second {
			second = s
		}
	}
	if best >= fuzzyMin && best-second >= fuzzyMargin {
		return bt, true
	}
	return chat.ToolDef{}, false
}

func normName(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// similarity is 1 - edit distance / longer length, where the edit
// distance counts a swap of two neighbours as one edit (optimal string
// alignment), the commonest typo.
func similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 || len(ra) > 128 || len(rb) > 128 {
		return 0
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return 1 - float64(d[len(ra)][len(rb)])/float64(max(len(ra), len(rb)))
}

// schema is the part of a JSON Schema the gateway checks.
type schema struct {
	props    map[string]prop
	required []string
}

type prop struct {
	types []string
	enum  []any
}

func parseSchema(raw json.RawMessage) schema {
	var s struct {
		Properties map[string]struct {
			Type json.RawMessage `json:"type"`
			Enum []any           `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	json.Unmarshal(raw, &s)
	out := schema{props: map[string]prop{}, required: s.Required}
	for k, v := range s.Properties {
		var pr prop
		var one string
		if json.Unmarshal(v.Type, &one) == nil && one != "" {
			pr.types = []string{one}
		} else {
			json.Unmarshal(v.Type, &pr.types)
		}
		pr.enum = v.Enum
		out.props[k] = pr
	}
	return out
}

func (pr prop) is(t string) bool {
	for _, x := range pr.types {
		if x == t {
			return true
		}
	}
	return false
}

// resolve matches a written call to a tool and builds its arguments:
// raw values coerced to the schema's types, then checked.
func (p *Plan) resolve(rc rawCall) (Call, bool) {
	t, ok := p.matchTool(rc.name)
	if !ok {
		return Call{}, false
	}
	if t.Custom {
		in := rc.body
		switch {
		case len(rc.keys) > 0:
			in = rc.vals[0]
			for i, k := range rc.keys {
				if k == "input" {
					in = rc.vals[i]
				}
			}
		case rc.obj != nil:
			if s, ok := rc.obj["input"].(string); ok {
				in = s
			} else {
				in = marshalArgs(rc.obj)
			}
		default:
			in = strings.TrimPrefix(strings.TrimPrefix(in, "\r"), "\n")
		}
		return Call{Name: t.Name, Custom: true, Input: in, Arguments: marshalArgs(map[string]any{"input": in})}, true
	}
	sc := p.schemaOf(t)
	args := map[string]any{}
	for k, v := range rc.obj {
		args[k] = v
	}
	for i, k := range rc.keys {
		args[k] = coerce(rc.vals[i], sc.props[k])
	}
	if rc.obj == nil && len(rc.keys) == 0 && strings.TrimSpace(rc.body) != "" {
		// A bare value: the tool's only required (or only) argument.
		if key := soleArg(sc); key != "" {
			args[key] = coerce(rc.body, sc.props[key])
		}
	}
	c := Call{Name: t.Name}
	c.Problems = check(args, sc)
	c.Arguments = marshalArgs(args)
	return c, true
}

func soleArg(sc schema) string {
	if len(sc.required) == 1 {
		return sc.required[0]
	}
	if len(sc.props) == 1 {
		for k := range sc.props {
			return k
		}
	}
	return ""
}

func (p *Plan) schemaOf(t chat.ToolDef) schema {
	if p.schemas == nil {
		p.schemas = map[string]schema{}
	}
	if s, ok := p.schemas[t.Name]; ok {
		return s
	}
	s := parseSchema(t.Parameters)
	p.schemas[t.Name] = s
	return s
}

// coerce turns a raw argument value into the schema's type; strings (and
// properties the schema does not type) stay raw text.
func coerce(raw string, pr prop) any {
	if len(pr.types) == 0 || pr.is("string") {
		return raw
	}
	t := strings.TrimSpace(raw)
	switch {
	case pr.is("integer") || pr.is("number"):
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return json.Number(t)
		}
	case pr.is("boolean"):
		switch strings.ToLower(t) {
		case "true", "yes", "1":
			return true
		case "false", "no", "0":
			return false
		}
	}
	if v, ok := parseLoose(t); ok {
		return v
	}
	if t == "null" {
		return nil
	}
	return raw
}

// check reports schema mismatches and fixes what is unambiguous (an enum
// value written in another case). It never rejects: see Call.Problems.
func check(args map[string]any, sc schema) []string {
	var probs []string
	for _, k := range sc.required {
		if _, ok := args[k]; !ok {
			probs = append(probs, "missing required argument "+strconv.Quote(k))
		}
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pr, ok := sc.props[k]
		if !ok {
			continue
		}
		v := args[k]
		if len(pr.types) > 0 && !typeOK(v, pr) {
			probs = append(probs, fmt.Sprintf("argument %q should be %s", k, strings.Join(pr.types, " or ")))
		}
		if len(pr.enum) > 0 && !inEnum(v, pr.enum) {
			if s, ok := v.(string); ok {
				for _, e := range pr.enum {
					if es, ok := e.(string); ok && strings.EqualFold(es, strings.TrimSpace(s)) {
						args[k] = es
						v = es
						break
					}
				}
			}
			if !inEnum(v, pr.enum) {
				probs = append(probs, fmt.Sprintf("argument %q is not one of the allowed values", k))
			}
		}
	}
	return probs
}

func typeOK(v any, pr prop) bool {
	for _, t := range pr.types {
		switch x := v.(type) {
		case string:
			if t == "string" {
				return true
			}
		case json.Number:
			if t == "number" {
				return true
			}
			if t == "integer" && !strings.ContainsAny(string(x), ".eE") {
				return true
			}
		case bool:
			if t == "boolean" {
				return true
			}
		case nil:
			if t == "null" {
				return true
			}
		case []any:
			if t == "array" {
				return true
			}
		case map[string]any:
			if t == "object" {
				return true
			}
		}
	}
	return false
}

func inEnum(v any, enum []any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}
