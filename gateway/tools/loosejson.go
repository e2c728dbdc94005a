package tools

import (
	"bytes"
	"encoding/json"
	"strings"
)

// parseLoose parses JSON the way models write it: inside a ```json fence
// or CDATA, with single quotes, Python literals (True, False, None),
// unquoted keys, trailing commas, invalid backslash escapes, raw newlines
// in strings, or missing closing brackets. Numbers stay json.Number.
func parseLoose(s string) (any, bool) {
	s = strings.TrimSpace(s)
	s = stripFence(s)
	if strings.HasPrefix(s, "<![CDATA[") {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<![CDATA["), "]]>")
		s = strings.TrimSpace(s)
	}
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return nil, false
	}
	if v, ok := decode(s); ok {
		return v, true
	}
	return decode(repairJSON(s))
}

func decode(s string) (any, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	// Trailing text after the value is tolerated (models add remarks).
	return v, true
}

func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") {
		return s
	}
	nl := strings.IndexByte(s, '\n')
	if nl < 0 {
		return s
	}
	s = s[nl+1:]
	if e := strings.LastIndex(s, "```"); e >= 0 {
		s = s[:e]
	}
	return strings.TrimSpace(s)
}

// repairJSON rewrites loose JSON into strict JSON in one pass.
func repairJSON(s string) string {
	var b bytes.Buffer
	b.Grow(len(s) + 16)
	var stack []byte
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			i = copyString(&b, s, i)
		case c == '{' || c == '[':
			stack = append(stack, c)
			b.WriteByte(c)
			i++
		case c == '}' || c == ']':
			trimTrailingComma(&b)
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			b.WriteByte(c)
			i++
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			switch {
			case k < len(s) && s[k] == ':':
				b.WriteString(`"` + word + `"`)
			case word == "True" || word == "true":
				b.WriteString("true")
			case word == "False" || word == "false":
				b.WriteString("false")
			case word == "None" || word == "null" || word == "NaN" || word == "undefined":
				b.WriteString("null")
			default:
				b.WriteString(`"` + word + `"`)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	trimTrailingComma(&b)
	for k := len(stack) - 1; k >= 0; k-- {
		if stack[k] == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	}
	return b.String()
}

// copyString copies a string literal starting at s[i] as a valid JSON
// string and returns the index after it.
func copyString(b *bytes.Buffer, s string, i int) int {
	q := s[i]
	b.WriteByte('"')
	i++
	for i < len(s) {
		c := s[i]
		switch {
		case c == q:
			b.WriteByte('"')
			return i + 1
		case c == '\\' && i+1 < len(s):
			n := s[i+1]
			switch n {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				b.WriteByte('\\')
				b.WriteByte(n)
				i += 2
			case 'u':
				if i+6 <= len(s) && isHex4(s[i+2:i+6]) {
					b.WriteString(s[i : i+6])
					i += 6
				} else {
					b.WriteString(`\\`)
					i++
				}
			case '\'':
				b.WriteByte('\'')
				i += 2
			default:
				b.WriteString(`\\`)
				i++
			}
		case c == '\\':
			b.WriteString(`\\`)
			i++
		case c == '"':
			b.WriteString(`\"`)
			i++
		case c == '\n':
			b.WriteString(`\n`)
			i++
		case c == '\r':
			b.WriteString(`\r`)
			i++
		case c == '\t':
			b.WriteString(`\t`)
			i++
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigit(c >> 4))
			b.WriteByte(hexDigit(c & 0xF))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	b.WriteByte('"')
	return i
}

func hexDigit(c byte) byte { return "0123456789abcdef"[c] }

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func trimTrailingComma(b *bytes.Buffer) {
	bs := b.Bytes()
	j := len(bs)
	for j > 0 && isSpace(bs[j-1]) {
		j--
	}
	if j > 0 && bs[j-1] == ',' {
		b.Truncate(j - 1)
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isIdent(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'
}
