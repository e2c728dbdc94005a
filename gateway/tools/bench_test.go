package tools

import (
	"strings"
	"testing"
)

// BenchmarkParserPlainDelta is the parser's cost per delta of an ordinary
// text answer (what every delta pays when tools are declared).
func BenchmarkParserPlainDelta(b *testing.B) {
	p := testPlan(b)
	deltas := strings.Fields(strings.Repeat("The quick brown fox jumps over the lazy dog, and a < b in `code`. ", 8))
	b.ReportAllocs()
	for b.Loop() {
		ps := p.NewParser()
		for _, d := range deltas {
			ps.Feed(d + " ")
		}
		ps.End()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(deltas)), "ns/delta")
}

// BenchmarkParserCallBlock parses a streamed two-call block.
func BenchmarkParserCallBlock(b *testing.B) {
	p := testPlan(b)
	in := "I'll write both.\n\n" + block(p.Nonce, "<call name=\"write\">\n<arg name=\"filePath\">/a</arg>\n<arg name=\"content\">"+strings.Repeat("line of code\n", 40)+"</arg>\n</call>\n<call name=\"bash\">\n<arg name=\"command\">ls</arg>\n</call>\n")
	b.ReportAllocs()
	for b.Loop() {
		ps := p.NewParser()
		for i := 0; i < len(in); i += 16 {
			ps.Feed(in[i:min(i+16, len(in))])
		}
		ps.End()
		if len(ps.Calls()) != 2 {
			b.Fatal("calls")
		}
	}
}
