package upstream

import "strings"

// isBoldTitle reports a fragment that is only a bold title such as
// "**Assessing the Request**". Before any answer text, the upstream
// sometimes sends these thought-summary titles without the thought flag; the
// Python gateway this replaces filtered them the same way.
func isBoldTitle(t string) bool {
	t = strings.TrimSpace(t)
	return len(t) < 80 && len(t) > 4 && strings.HasPrefix(t, "**") && strings.HasSuffix(t, "**") &&
		!strings.Contains(t[2:len(t)-2], "\n")
}

// ctrlFilter removes lines that start with an internal marker such as
// "<ctrl46>Image size: (447, 523)" from the answer. It works across deltas:
// a line start that could still become a marker is held back (at most a few
// ASCII bytes, so UTF-8 is never split) until the next delta decides it.
type ctrlFilter struct {
	midLine  bool   // not at the start of a line
	dropping bool   // inside a marker line, until its newline
	hold     []byte // possible marker prefix at a line start
}

// write filters one delta and returns what may be emitted now.
func (f *ctrlFilter) write(t string) string {
	if !f.dropping && len(f.hold) == 0 && !strings.Contains(t, "<") {
		if t != "" {
			f.midLine = t[len(t)-1] != '\n'
		}
		return t
	}
	var out strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if f.dropping {
			if c == '\n' {
				f.dropping, f.midLine = false, false
			}
			continue
		}
		if len(f.hold) > 0 || (!f.midLine && c == '<') {
			f.hold = append(f.hold, c)
			switch markerState(f.hold) {
			case markerPrefix:
				continue
			case markerFull:
				f.hold = f.hold[:0]
				f.dropping = true
				continue
			default:
				out.Write(f.hold)
				f.hold = f.hold[:0]
				f.midLine = c != '\n'
				continue
			}
		}
		out.WriteByte(c)
		f.midLine = c != '\n'
	}
	return out.String()
}

// flush releases a held prefix at the end of the stream.
func (f *ctrlFilter) flush() string {
	s := string(f.hold)
	f.hold = f.hold[:0]
	return s
}

type marker uint8

const (
	markerNo marker = iota
	markerPrefix
	markerFull
)

// markerState matches b against `<ctrl[0-9]+>`.
func markerState(b []byte) marker {
	const lit = "<ctrl"
	for i := 0; i < len(b) && i < len(lit); i++ {
		if b[i] != lit[i] {
			return markerNo
		}
	}
	if len(b) <= len(lit) {
		return markerPrefix
	}
	for i := len(lit); i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if i-len(lit) > 6 {
				return markerNo
			}
		case c == '>' && i == len(b)-1 && i > len(lit):
			return markerFull
		default:
			return markerNo
		}
	}
	return markerPrefix
}
