package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// ModelAlias maps model names a client hard-wires (Claude Code's
// "claude-sonnet-4-5", Codex's "gpt-5-codex") to one of this gateway's
// models. Pattern is a name, or a prefix ending in "*".
type ModelAlias struct {
	Pattern string
	Target  string
}

// Match reports whether name is covered by the alias (case-insensitive).
func (a ModelAlias) Match(name string) bool {
	p, n := strings.ToLower(a.Pattern), strings.ToLower(name)
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(n, prefix)
	}
	return p == n
}

// ParseModelAliases reads MODEL_ALIASES: "claude-*=gemini-2.5-pro,gpt-5*=gemini-2.5-pro".
// A "*" may only end a pattern; the first matching alias wins.
func ParseModelAliases(s string) ([]ModelAlias, error) {
	var out []ModelAlias
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pat, target, ok := strings.Cut(item, "=")
		pat, target = strings.TrimSpace(pat), strings.TrimSpace(target)
		if !ok || pat == "" || target == "" {
			return nil, fmt.Errorf("%q: want pattern=model, e.g. claude-*=gemini-2.5-pro", clip(item, 64))
		}
		if i := strings.IndexByte(pat, '*'); i >= 0 && i != len(pat)-1 {
			return nil, fmt.Errorf("%q: a * may only end the pattern", clip(pat, 64))
		}
		if strings.Contains(target, "*") {
			return nil, errors.New("the model after = must be a model name, not a pattern")
		}
		out = append(out, ModelAlias{Pattern: pat, Target: target})
	}
	return out, nil
}

// aliasFor returns the model an alias sends name to, if any.
func aliasFor(list []ModelAlias, name string) (string, bool) {
	for _, a := range list {
		if a.Match(name) {
			return a.Target, true
		}
	}
	return "", false
}
