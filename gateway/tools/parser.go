package tools

import (
	"strings"
)

// sentinel is a way a call block can begin: the gateway's own envelope, or
// another model family's format the model drifted into (accepted only when
// it names a declared tool).
type sentinel struct {
	open, close string
	own         bool
}

var sentinels = []sentinel{
	{open: openTag, close: closeTag, own: true},
	{open: "<function_calls>", close: "</function_calls>"},
	{open: "<function=", close: "</function>"},
	{open: "<invoke name=", close: "</invoke>"},
	{open: "<tool_call>", close: "</tool_call>"},
	{open: "<tool_call ", close: "</tool_call>"},
}

type state uint8

const (
	stText state = iota
	stCollect
	stAfter // an alternative-format block parsed; another may follow
	stDone
)

// Parser splits a streamed answer into text and calls. Feed it the deltas
// in order; it returns the text that may go to the client at once, holding
// back only a suffix that could begin a call block (or a code-fence line
// that could decorate one). Once a block closes, Feed reports done and
// everything after it is dropped.
type Parser struct {
	plan *Plan
	max  int

	st      state
	pending string // text not yet emitted (held back or being collected)
	scan    int    // pending[:scan] holds no sentinel start
	sent    *sentinel
	dropped string // a fence line dropped with the block being collected
	calls   []Call

	// Fence state of the emitted text: inside a ``` block, and whether
	// that block has had content beyond its opening line.
	inFence, fenceBody bool
	// fenceLine: the text being emitted is still on the line that opened
	// or closed the last fence (its info string is no fence content).
	fenceLine bool
	lineStart bool
	fenceHeld int // start in pending of a held fence-opening line, or -1
}

// NewParser starts parsing one answer.
func (p *Plan) NewParser() *Parser {
	m := p.MaxBlock
	if m <= 0 {
		m = DefaultMaxBlock
	}
	return &Parser{plan: p, max: m, lineStart: true, fenceHeld: -1}
}

// Calls returns the parsed calls (after Feed reported done, or End).
func (ps *Parser) Calls() []Call { return ps.calls }

// Done reports whether a block has been parsed and the rest is dropped.
func (ps *Parser) Done() bool { return ps.st == stDone }

// Feed takes the next delta and returns the text to emit now; done means
// a call block is complete and the upstream may be cancelled.
func (ps *Parser) Feed(delta string) (emit string, done bool) {
	if ps.st == stDone {
		return "", true
	}
	if !ps.plan.Active() {
		return delta, false
	}
	if ps.st == stText && ps.pending == "" && ps.fenceHeld < 0 && fastPlain(delta) {
		// The common case: a delta with no '<' or '`' at all goes out
		// untouched.
		if ps.inFence && !ps.fenceBody {
			ps.noteFence(delta)
		} else {
			ps.lineStart = delta[len(delta)-1] == '\n'
		}
		return delta, false
	}
	ps.pending += delta
	var out strings.Builder
	ps.step(&out, false)
	return out.String(), ps.st == stDone
}

// fastPlain: nothing in the delta can start a block or a fence.
func fastPlain(d string) bool {
	if d == "" {
		return false
	}
	return strings.IndexByte(d, '<') < 0 && strings.IndexByte(d, '`') < 0
}

// End is called at the end of the stream: it returns what was held back
// as text, after parsing a block the stream ended inside.
func (ps *Parser) End() string {
	var out strings.Builder
	ps.step(&out, true)
	switch ps.st {
	case stCollect:
		// The stream ended inside a block: keep the calls that closed.
		if calls := ps.parseBlock(ps.pending, true); len(calls) > 0 {
			ps.calls = append(ps.calls, calls...)
			ps.st, ps.pending = stDone, ""
		} else {
			ps.emitText(&out, ps.dropped)
			ps.emitText(&out, ps.pending)
			ps.pending, ps.dropped = "", ""
			ps.st = stText
		}
	case stAfter:
		ps.st = stDone
	case stText:
		ps.emitText(&out, ps.pending)
		ps.pending = ""
	}
	ps.scan, ps.fenceHeld = 0, -1
	return out.String()
}

func (ps *Parser) step(out *strings.Builder, final bool) {
	for {
		switch ps.st {
		case stText:
			if !ps.stepText(out, final) {
				return
			}
		case stCollect:
			if !ps.stepCollect(out) {
				return
			}
		case stAfter:
			if !ps.stepAfter(final) {
				return
			}
		default:
			ps.pending = ""
			return
		}
	}
}

// stepText emits what is safe and switches to collecting at a sentinel;
// it returns true when the state changed and stepping should go on.
func (ps *Parser) stepText(out *strings.Builder, final bool) bool {
	i := ps.scan
	for {
		j := strings.IndexByte(ps.pending[i:], '<')
		if j < 0 {
			break
		}
		i += j
		sn, partial := matchSentinel(ps.pending[i:])
		if sn == nil && !partial {
			i++
			continue
		}
		if partial && !final {
			// Could begin a block: emit up to it, hold the rest.
			ps.emitUpTo(out, i)
			return false
		}
		if partial {
			i++
			continue
		}
		// A full sentinel at i: a call, unless it sits inside a code
		// example that has other content.
		i = ps.emitUpTo(out, i)
		if ps.fenceHeld >= 0 {
			// A fence opened just for the block: markdown decoration,
			// dropped with the block (given back if it is no block).
			ps.dropped = ps.pending[:i]
			ps.pending = ps.pending[i:]
			ps.fenceHeld = -1
		} else if ps.inFence && ps.fenceBody {
			ps.emitText(out, ps.pending[:len(sn.open)])
			ps.pending = ps.pending[len(sn.open):]
			ps.scan = 0
			return true
		}
		ps.sent, ps.st, ps.scan = sn, stCollect, 0
		return true
	}
	if final {
		ps.fenceHeld = -1
	}
	ps.emitUpTo(out, len(ps.pending))
	return false
}

// emitUpTo emits pending[:i] except a trailing fence-opening line with
// nothing but space after it, which is held until it is known whether a
// block follows. It returns where position i now is in pending.
func (ps *Parser) emitUpTo(out *strings.Builder, i int) int {
	if ps.fenceHeld >= 0 {
		fl := min(fenceLineLen(ps.pending), i)
		if fenceOpener(ps.pending[:fl]) && strings.TrimSpace(ps.pending[fl:i]) == "" {
			ps.scan = i
			return i
		}
		ps.fenceHeld = -1 // content followed: not a decoration
	}
	head := ps.pending[:i]
	if !ps.inFence {
		if k := openingFenceLine(head, ps.lineStart); k >= 0 {
			ps.emitText(out, head[:k])
			if !ps.inFence {
				ps.pending = ps.pending[k:]
				ps.fenceHeld = 0
				ps.scan = i - k
				return i - k
			}
			head = head[k:]
			ps.pending = ps.pending[k:]
			i -= k
		}
	}
	ps.emitText(out, head)
	ps.pending = ps.pending[i:]
	ps.scan = 0
	return 0
}

// openingFenceLine finds, at the end of s, a line that opens a fence (```
// with an optional language) followed only by whitespace, and returns its
// start, or -1.
func openingFenceLine(s string, lineStart bool) int {
	t := strings.TrimRight(s, " \t\r\n")
	ls := strings.LastIndexByte(t, '\n') + 1
	if ls == 0 && !lineStart {
		return -1
	}
	line := strings.TrimLeft(t[ls:], " ")
	if line != "" && strings.HasPrefix("```", line) && len(t) == len(s) {
		return ls // a fence may be starting
	}
	if !strings.HasPrefix(line, "```") || strings.Contains(line[3:], "`") {
		return -1
	}
	return ls
}

// fenceOpener: line (with its newline, if it has one yet) is or may
// become a fence-opening line.
func fenceOpener(line string) bool {
	done := strings.HasSuffix(line, "\n")
	l := strings.TrimSpace(line)
	if !done && strings.HasPrefix("```", l) {
		return true
	}
	return strings.HasPrefix(l, "```") && !strings.Contains(l[3:], "`")
}

func fenceLineLen(s string) int {
	if k := strings.IndexByte(s, '\n'); k >= 0 {
		return k + 1
	}
	return len(s)
}

// emitText sends text to the client and tracks the fence state.
func (ps *Parser) emitText(out *strings.Builder, t string) {
	if t == "" {
		return
	}
	out.WriteString(t)
	ps.noteFence(t)
}

func (ps *Parser) noteFence(t string) {
	ls := ps.lineStart
	for len(t) > 0 {
		nl := strings.IndexByte(t, '\n')
		line := t
		if nl >= 0 {
			line = t[:nl]
		}
		if ls && strings.HasPrefix(strings.TrimLeft(line, " "), "```") {
			ps.inFence = !ps.inFence
			ps.fenceBody = false
			ps.fenceLine = true
		} else if ps.inFence && !ps.fenceLine && strings.TrimSpace(line) != "" {
			ps.fenceBody = true
		}
		if nl < 0 {
			ls = false
			break
		}
		t = t[nl+1:]
		ls = true
		ps.fenceLine = false
	}
	ps.lineStart = ls
}

// matchSentinel reports a sentinel s starts with, or whether s is a proper
// prefix of one.
func matchSentinel(s string) (*sentinel, bool) {
	partial := false
	for k := range sentinels {
		sn := &sentinels[k]
		if len(s) >= len(sn.open) {
			if equalFoldASCII(s[:len(sn.open)], sn.open) {
				return sn, false
			}
		} else if equalFoldASCII(s, sn.open[:len(s)]) {
			partial = true
		}
	}
	return nil, partial
}

// stepCollect waits for the block's end marker, then parses it.
func (ps *Parser) stepCollect(out *strings.Builder) bool {
	s := ps.pending
	if ps.sent.own {
		// The limits hold however the stream was cut: an opening tag or a
		// block too long is refused whether its end has arrived or not.
		gt := strings.IndexByte(s, '>')
		if gt < 0 && len(s) > 256 || gt > 256 {
			return ps.giveBack(out)
		}
		if gt >= 0 && !ps.nonceOK(s[:gt]) {
			return ps.giveBack(out)
		}
	}
	end := indexFold(s, ps.sent.close)
	if end < 0 || end+len(ps.sent.close) > ps.max {
		if len(s) > ps.max {
			return ps.giveBack(out)
		}
		return false
	}
	block := s[:end+len(ps.sent.close)]
	calls := ps.parseBlock(block, false)
	if len(calls) == 0 {
		return ps.giveBack(out)
	}
	ps.calls = append(ps.calls, calls...)
	ps.pending = s[len(block):]
	if ps.sent.own || ps.sent.open == "<function_calls>" || ps.plan.NoParallel {
		ps.st, ps.pending = stDone, ""
		return false
	}
	ps.st = stAfter
	return true
}

// giveBack turns a block that is not a call back into text: its sentinel
// is emitted and scanning resumes after it.
func (ps *Parser) giveBack(out *strings.Builder) bool {
	n := len(ps.sent.open)
	ps.emitText(out, ps.dropped)
	ps.dropped = ""
	ps.emitText(out, ps.pending[:n])
	ps.pending = ps.pending[n:]
	ps.st, ps.scan, ps.sent = stText, 0, nil
	return true
}

// stepAfter: after an alternative-format block, another one may follow
// (models in those formats write one element per call); anything else
// ends the answer.
func (ps *Parser) stepAfter(final bool) bool {
	t := strings.TrimLeft(ps.pending, " \t\r\n")
	if t == "" {
		if final {
			ps.st = stDone
		}
		return false
	}
	sn, partial := matchSentinel(t)
	switch {
	case sn != nil && !sn.own:
		ps.pending, ps.sent, ps.st = t, sn, stCollect
		return true
	case partial && !final:
		return false
	}
	ps.st, ps.pending = stDone, ""
	return false
}

// nonceOK checks the opening tag's nonce: a block with another nonce was
// copied from somewhere (a file, another conversation) and is not a call.
// A missing nonce is accepted: models sometimes drop it.
func (ps *Parser) nonceOK(tag string) bool {
	v, ok := attr(tag, "nonce")
	return !ok || v == ps.plan.Nonce
}

// indexFold finds sub in s ignoring ASCII case (tags are ASCII; byte
// offsets stay exact whatever the text around them holds).
func indexFold(s, sub string) int {
	if i := strings.Index(s, sub); i >= 0 {
		return i
	}
	if sub == "" {
		return 0
	}
	c0 := sub[0] | 0x20
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 == c0 && equalFoldASCII(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}
