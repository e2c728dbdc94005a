package upstream

import (
	"errors"
	"fmt"
	"io"
)

// Scanner errors. Callers see them wrapped in *Error by Stream; they are
// exported for the fuzz and property tests and for callers that use
// ArrayScanner on its own.
var (
	// ErrTruncated means the body ended before the closing ']' of the array
	// (or inside an element).
	ErrTruncated = errors.New("stream truncated inside the JSON array")
	// ErrElementTooLarge means one element exceeded the configured bound.
	ErrElementTooLarge = errors.New("stream element too large")
)

// SyntaxError reports a byte that cannot appear where it did.
type SyntaxError struct {
	Offset int64
	Byte   byte
	Where  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("unexpected byte %q at offset %d %s", e.Byte, e.Offset, e.Where)
}

type scanPhase uint8

const (
	phaseStart   scanPhase = iota // before '[' or a bare '{'
	phaseArray                    // between elements
	phaseElement                  // inside an element
	phaseDone                     // after ']' or after a bare object
)

// ArrayScanner splits the streamed JSON array of widgetStreamAssist into
// its top-level elements. It works on bytes (structure characters are ASCII,
// so multi-byte UTF-8 split across reads is never touched), returns each
// element as soon as its closing brace has been read without waiting for
// more input, and ignores any whitespace and commas between elements.
//
// A body that starts with '{' instead of '[' is a single bare object
// (usually an error); Next returns it once and Bare reports true.
type ArrayScanner struct {
	r   io.Reader
	buf []byte
	// buf[start:end] holds unread input; pos is the scan position inside it.
	start, end, pos int
	elemStart       int
	offset          int64 // bytes consumed before buf[0], for error offsets
	depth           int
	inString        bool
	escaped         bool
	phase           scanPhase
	bare            bool
	max             int
	rerr            error
}

// NewArrayScanner reads from r; maxElement bounds one element (<=0: 64 MiB).
func NewArrayScanner(r io.Reader, maxElement int) *ArrayScanner {
	if maxElement <= 0 {
		maxElement = 64 << 20
	}
	return &ArrayScanner{r: r, buf: make([]byte, 4096), max: maxElement}
}

// Bare reports whether the body was a single object rather than an array.
func (s *ArrayScanner) Bare() bool { return s.bare }

// Next returns the next element's raw JSON. The slice is valid until the
// next call. At the end of the array it returns io.EOF; a body that stops
// early returns ErrTruncated (or the reader's error).
func (s *ArrayScanner) Next() ([]byte, error) {
	for {
		if elem, err, ok := s.scan(); ok {
			return elem, err
		}
		if s.rerr != nil {
			if s.rerr == io.EOF {
				return nil, ErrTruncated
			}
			return nil, s.rerr
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// scan advances over buffered bytes; ok is false when it needs more input.
func (s *ArrayScanner) scan() (elem []byte, err error, ok bool) {
	b := s.buf
	for s.pos < s.end {
		switch s.phase {
		case phaseDone:
			return nil, io.EOF, true
		case phaseStart:
			c := b[s.pos]
			switch {
			case isSpace(c):
				s.pos++
			case c == 0xEF || c == 0xBB || c == 0xBF: // UTF-8 BOM
				s.pos++
			case c == '[':
				s.pos++
				s.phase = phaseArray
			case c == '{':
				s.bare = true
				s.beginElement()
			default:
				return nil, s.syntax(c, "at the start of the body"), true
			}
		case phaseArray:
			c := b[s.pos]
			switch {
			case isSpace(c) || c == ',':
				s.pos++
			case c == ']':
				s.pos++
				s.phase = phaseDone
				return nil, io.EOF, true
			case c == '{' || c == '[':
				s.beginElement()
			default:
				return nil, s.syntax(c, "between array elements"), true
			}
		case phaseElement:
			if s.scanElement() {
				elem = b[s.elemStart:s.pos]
				s.start = s.pos
				if s.bare {
					s.phase = phaseDone
				} else {
					s.phase = phaseArray
				}
				return elem, nil, true
			}
		}
	}
	if s.phase == phaseDone {
		return nil, io.EOF, true
	}
	if s.phase != phaseElement {
		// Nothing worth keeping before pos.
		s.start = s.pos
	}
	return nil, nil, false
}

func (s *ArrayScanner) beginElement() {
	s.phase = phaseElement
	s.elemStart = s.pos
	s.start = s.pos
	s.depth = 0
	s.inString = false
	s.escaped = false
}

// scanElement moves pos forward; it returns true when the element that
// began at elemStart is complete (pos then points just past it).
func (s *ArrayScanner) scanElement() bool {
	b := s.buf[:s.end]
	i := s.pos
	for i < len(b) {
		if s.inString {
			// Skip string content quickly: only '"' and '\' matter.
			for i < len(b) {
				c := b[i]
				if s.escaped {
					s.escaped = false
				} else if c == '\\' {
					s.escaped = true
				} else if c == '"' {
					s.inString = false
					i++
					break
				}
				i++
			}
			continue
		}
		switch b[i] {
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth == 0 {
				s.pos = i + 1
				return true
			}
		}
		i++
	}
	s.pos = i
	return false
}

// fill reads more input, compacting or growing the buffer as needed.
func (s *ArrayScanner) fill() error {
	if s.start > 0 {
		n := copy(s.buf, s.buf[s.start:s.end])
		s.offset += int64(s.start)
		s.pos -= s.start
		s.elemStart -= s.start
		s.start, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.max {
			return ErrElementTooLarge
		}
		n := min(len(s.buf)*2, s.max)
		nb := make([]byte, n)
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if err != nil {
		s.rerr = err
	}
	return nil
}

func (s *ArrayScanner) syntax(c byte, where string) error {
	return &SyntaxError{Offset: s.offset + int64(s.pos), Byte: c, Where: where}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }
