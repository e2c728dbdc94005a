package upstream

import (
	"encoding/json"
	"unicode/utf8"
)

// elementDecoder decodes the array elements of an answer stream into a
// wireElement without reflection, for the shapes that carry every delta.
// It is the hot path of the gateway and of gateway/bench's direct client:
// encoding/json spent more time on an element than reading it off the
// socket did.
//
// The contract is strict: when decode returns true, el is exactly what
// json.Unmarshal would have produced (FuzzElementDecode checks it). For
// anything it is not sure about — invalid JSON, a value of an unexpected
// type or null, a key that matches a field only case-insensitively, a
// repeated field, an "error", a file, skip reasons — it returns false and
// the caller uses encoding/json.
//
// el points into the decoder's own storage, which the next decode reuses:
// it is valid until then.
type elementDecoder struct {
	b   []byte
	i   int
	sar wireSAR
	si  wireSessionInfo
	ans wireAnswer
	// replies, grounded and contents back the answer's replies; one of
	// each per reply.
	replies  []wireReply
	grounded []wireGrounded
	contents []wireContent
	// has records, per reply, which of groundedContent and content it had.
	has []replyHas
}

type replyHas struct{ grounded, content bool }

// maxSkipDepth bounds the nesting of values the decoder skips; deeper
// elements go to encoding/json.
const maxSkipDepth = 64

func (d *elementDecoder) decode(raw []byte, el *wireElement) bool {
	d.b, d.i = raw, 0
	d.sar, d.si, d.ans = wireSAR{}, wireSessionInfo{}, wireAnswer{}
	d.replies, d.grounded, d.contents, d.has = d.replies[:0], d.grounded[:0], d.contents[:0], d.has[:0]
	*el = wireElement{}
	var hasToken, hasSAR, hasAnswer, hasSI, hasReplies bool
	ok := d.object(func(k []byte) bool {
		switch string(k) {
		case "uToken":
			if !once(&hasToken) {
				return false
			}
			s, ok := d.str()
			el.UToken = s
			return ok
		case "streamAssistResponse":
			if !once(&hasSAR) {
				return false
			}
			return d.object(func(k []byte) bool {
				switch string(k) {
				case "answer":
					return once(&hasAnswer) && d.answer(&hasReplies)
				case "sessionInfo":
					if !once(&hasSI) {
						return false
					}
					var hasSession bool
					return d.object(func(k []byte) bool {
						if string(k) == "session" {
							s, ok := d.str()
							d.si.Session = s
							return once(&hasSession) && ok
						}
						return d.other(k, "session")
					})
				}
				return d.other(k, "answer", "sessionInfo")
			})
		}
		// "error" included: in-body errors are rare and decoded in full.
		return d.other(k, "uToken", "streamAssistResponse", "error")
	})
	d.ws()
	if !ok || d.i != len(d.b) {
		return false
	}
	if hasSAR {
		el.SAR = &d.sar
		if hasAnswer {
			d.sar.Answer = &d.ans
			if hasReplies {
				d.link()
			}
		}
		if hasSI {
			d.sar.SessionInfo = &d.si
		}
	}
	return true
}

// once sets *seen and reports whether it was clear: a field decoded twice
// would be merged or replaced by encoding/json, which is left to it.
func once(seen *bool) bool {
	if *seen {
		return false
	}
	*seen = true
	return true
}

// answer decodes streamAssistResponse.answer.
func (d *elementDecoder) answer(hasReplies *bool) bool {
	var hasState bool
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "state":
			s, ok := d.str()
			d.ans.State = s
			return once(&hasState) && ok
		case "replies":
			return once(hasReplies) && d.array(d.reply)
		}
		return d.other(k, "state", "replies", "assistSkippedReasons", "customerPolicyEnforcementResult")
	})
}

// reply decodes one element of answer.replies.
func (d *elementDecoder) reply() bool {
	var h replyHas
	var c wireContent
	var hasText, hasThought bool
	ok := d.object(func(k []byte) bool {
		if string(k) != "groundedContent" {
			return d.other(k, "groundedContent")
		}
		return once(&h.grounded) && d.object(func(k []byte) bool {
			if string(k) != "content" {
				return d.other(k, "content")
			}
			return once(&h.content) && d.object(func(k []byte) bool {
				switch string(k) {
				case "text":
					s, ok := d.str()
					c.Text = s
					return once(&hasText) && ok
				case "thought":
					v, ok := d.boolean()
					c.Thought = v
					return once(&hasThought) && ok
				}
				return d.other(k, "text", "thought", "file")
			})
		})
	})
	d.replies = append(d.replies, wireReply{})
	d.grounded = append(d.grounded, wireGrounded{})
	d.contents = append(d.contents, c)
	d.has = append(d.has, h)
	return ok
}

// link points the replies at their parts, once the slices stop growing.
func (d *elementDecoder) link() {
	for i, h := range d.has {
		if !h.grounded {
			continue
		}
		d.replies[i].GroundedContent = &d.grounded[i]
		if h.content {
			d.grounded[i].Content = &d.contents[i]
		}
	}
	if d.replies == nil {
		// encoding/json makes an empty array a non-nil empty slice.
		d.replies = make([]wireReply, 0, 4)
	}
	d.ans.Replies = d.replies
}

// other handles a key that is not one of the decoded fields: known lists
// every field of the struct being decoded. A key equal to one of them
// except for case would be matched by encoding/json (and a known key seen
// here is one the decoder leaves to it), so those make decode give up;
// anything else is skipped, as encoding/json skips unknown fields.
func (d *elementDecoder) other(k []byte, known ...string) bool {
	for _, n := range known {
		if equalFoldASCII(k, n) {
			return false
		}
	}
	return d.skip(0)
}

func equalFoldASCII(k []byte, n string) bool {
	if len(k) != len(n) {
		return false
	}
	for i := range k {
		a, b := k[i], n[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func (d *elementDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *elementDecoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object parses an object, calling field for each key with the position
// at its value; field must consume the value.
func (d *elementDecoder) object(field func(key []byte) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		d.ws()
		k, ok := d.key()
		if !ok || !d.next(':') {
			return false
		}
		d.ws()
		if !field(k) {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next('}')
	}
}

// key returns an object key's bytes; keys with escapes or non-ASCII bytes
// (which encoding/json would unescape or fold) make the decoder give up.
func (d *elementDecoder) key() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			return d.b[start:j], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// array parses an array of values, each consumed by elem.
func (d *elementDecoder) array(elem func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.next(']') {
		return true
	}
	for {
		d.ws()
		if !elem() {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next(']')
	}
}

// str decodes a string value. Plain strings (no escapes, valid UTF-8) are
// converted directly; others are handed to encoding/json, whose handling of
// escapes, surrogates and invalid UTF-8 is then exactly its own.
func (d *elementDecoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i
	plain, ascii := true, true
	j := start + 1
	for ; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			plain = false
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if j >= len(d.b) {
		return "", false
	}
	d.i = j + 1
	body := d.b[start+1 : j]
	if plain && (ascii || utf8.Valid(body)) {
		return string(body), true
	}
	var s string
	if json.Unmarshal(d.b[start:d.i], &s) != nil {
		return "", false
	}
	return s, true
}

func (d *elementDecoder) boolean() (bool, bool) {
	switch {
	case d.lit("true"):
		return true, true
	case d.lit("false"):
		return false, true
	}
	return false, false
}

func (d *elementDecoder) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// skip validates and passes over any JSON value, as strictly as
// encoding/json would check it.
func (d *elementDecoder) skip(depth int) bool {
	if depth > maxSkipDepth || d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{':
		return d.object(func([]byte) bool { return d.skip(depth + 1) })
	case c == '[':
		return d.array(func() bool { return d.skip(depth + 1) })
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return false
}

// skipString validates a string: escapes must be JSON's, control bytes are
// not allowed (invalid UTF-8 is, as in encoding/json).
func (d *elementDecoder) skipString() bool {
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(d.b) {
				return false
			}
			switch d.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(d.b) {
					return false
				}
				for _, h := range d.b[j+1 : j+5] {
					if !isHex(h) {
						return false
					}
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (d *elementDecoder) number() bool {
	b, i := d.b, d.i
	digits := func() bool {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	d.i = i
	return true
}
