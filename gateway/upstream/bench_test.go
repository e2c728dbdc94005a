package upstream

import (
	"bytes"
	"strings"
	"testing"
)

// benchBody is an answer of n text deltas in the layout the fake (and the
// real service) sends: pretty-printed and compact elements alternating,
// with the separators seen in captures, and a terminal element.
func benchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString("[")
	seps := []string{",\r\n", "\n,\r\n", ",", ",\n"}
	for i := range n {
		if i > 0 {
			b.WriteString(seps[i%len(seps)])
		}
		e := el("hello, 世界 ", false)
		if i%2 == 1 {
			e = strings.ReplaceAll(e, `{"`, "{\n  \"")
		}
		b.WriteString(e)
	}
	b.WriteString(",\r\n" + succeeded + "\n]")
	return b.Bytes()
}

// BenchmarkArrayScannerElement is the cost of splitting the streamed
// array into elements, per element.
func BenchmarkArrayScannerElement(b *testing.B) {
	const n = 1000
	body := benchBody(n)
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(body) / (n + 1)))
	b.ReportAllocs()
	var s *ArrayScanner
	for i := 0; b.Loop(); i++ {
		if i%(n+1) == 0 {
			r.Reset(body)
			s = NewArrayScanner(r, 1<<20)
		}
		if _, err := s.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamNextDelta is the whole parse of one upstream element into
// an answer delta (scanner, JSON decoding, filters), per delta: the work
// the gateway and the direct client of gateway/bench share.
func BenchmarkStreamNextDelta(b *testing.B) {
	const n = 1000
	body := benchBody(n)
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(body) / (n + 1)))
	b.ReportAllocs()
	var s *Stream
	for i := 0; b.Loop(); i++ {
		if i%n == 0 {
			r.Reset(body)
			s = newTestStream(r)
		}
		ev, err := s.Next()
		if err != nil || ev.Kind != EventText {
			b.Fatal(ev, err)
		}
	}
}
