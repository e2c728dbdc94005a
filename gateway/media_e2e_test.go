package gateway_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// compactJSON normalises recorded JSON for comparison.
func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("not JSON: %q", raw)
	}
	return b.String()
}

// lastTurn is the newest turn the fake accepted for account i.
func (h *harness) lastTurn(i int) fakeupstream.Turn {
	h.t.Helper()
	ss := h.fake.Sessions(h.accts[i].CSESIDX)
	for j := len(ss) - 1; j >= 0; j-- {
		if n := len(ss[j].Turns); n > 0 {
			return ss[j].Turns[n-1]
		}
	}
	h.t.Fatal("the fake received no turn")
	return fakeupstream.Turn{}
}

// What the fake received as toolsSpec, per model and setting.
func TestToolsSpecPerTurn(t *testing.T) {
	const (
		web   = `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry"}`
		image = `{"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}`
		video = `{"toolRegistry":"default_tool_registry","videoGenerationSpec":{}}`
		webIm = `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}`
		all   = `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry","imageGenerationSpec":{},"videoGenerationSpec":{}}`
	)
	cases := []struct {
		name, mode, model, want string
	}{
		{"ordinary chat sends web grounding only", "", "gemini-2.5-pro", web},
		{"auto model too", "", "gemini-auto", web},
		{"image model sends image generation", "", gateway.ModelImagen, image},
		{"video model sends video generation", "", gateway.ModelVeo, video},
		{"-image suffix adds image generation", "", "gemini-2.5-flash-image", webIm},
		{"setting all keeps the old behaviour", gateway.ToolsAll, "gemini-2.5-pro", all},
		{"setting all on an image model", gateway.ToolsAll, gateway.ModelImagen, all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{gw: func(g *gateway.Config) { g.ToolsSpec = c.mode }})
			resp := h.do("POST", "/v1/chat/completions", `{"model":"`+c.model+`","messages":[{"role":"user","content":"hello"}]}`, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := compactJSON(t, h.lastTurn(0).ToolsSpec); got != c.want {
				t.Errorf("toolsSpec %s, want %s", got, c.want)
			}
		})
	}
}
