package gateway_test

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkGatewayStreamTools compares a plain-text streamed answer of 50
// deltas with and without tools declared (the tool parser in the path):
// ns/delta and the time to first token at p50 (ttft-p50-us).
func BenchmarkGatewayStreamTools(b *testing.B) {
	for _, tc := range []struct{ name, body string }{
		{"no-tools", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"tools", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"write","parameters":{"type":"object","properties":{"filePath":{"type":"string"},"content":{"type":"string"}},"required":["filePath","content"]}}},{"type":"function","function":{"name":"bash","parameters":{"type":"object","properties":{"command":{"type":"string"}}}}}]}`},
	} {
		b.Run(tc.name, func(b *testing.B) { benchStreamBody(b, tc.body) })
	}
}

func benchStreamBody(b *testing.B, body string) {
	c := benchStreamClient(b, body)
	ctx := context.Background()
	var ttft []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		r := c.Stream(ctx, false)
		if r.Err != nil || r.Deltas != benchDeltas {
			b.Fatalf("%d deltas, %v", r.Deltas, r.Err)
		}
		ttft = append(ttft, r.TTFT)
	}
	slices.Sort(ttft)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDeltas), "ns/delta")
	b.ReportMetric(float64(ttft[len(ttft)/2].Microseconds()), "ttft-p50-us")
}
