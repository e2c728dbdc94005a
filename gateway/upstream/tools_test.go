package upstream

import (
	"encoding/json"
	"testing"
	"time"
)

func TestToolsSpecShapes(t *testing.T) {
	cases := []struct {
		name  string
		tools Tools
		want  string
	}{
		{"zero is web grounding only", 0, `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry"}`},
		{"web", ToolWebGrounding, `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry"}`},
		{"image only", ToolImageGeneration, `{"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}`},
		{"video only", ToolVideoGeneration, `{"toolRegistry":"default_tool_registry","videoGenerationSpec":{}}`},
		{"web and image", ToolWebGrounding | ToolImageGeneration, `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry","imageGenerationSpec":{}}`},
		{"all", ToolsAll, `{"webGroundingSpec":{},"toolRegistry":"default_tool_registry","imageGenerationSpec":{},"videoGenerationSpec":{}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(specFor(c.tools))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("got %s, want %s", b, c.want)
			}
		})
	}
}

func TestMediaTurnsGetTheMediaTimeout(t *testing.T) {
	c, err := New(Config{FirstByteTimeout: 5 * time.Second, IdleTimeout: 7 * time.Second, MediaTimeout: 9 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.firstByteTimeout(ToolWebGrounding); got != 5*time.Second {
		t.Errorf("text first byte: %s", got)
	}
	if got := c.idleTimeout(ToolWebGrounding); got != 7*time.Second {
		t.Errorf("text idle: %s", got)
	}
	if got := c.firstByteTimeout(ToolImageGeneration); got != 9*time.Minute {
		t.Errorf("image first byte: %s", got)
	}
	if got := c.idleTimeout(ToolVideoGeneration | ToolWebGrounding); got != 9*time.Minute {
		t.Errorf("video idle: %s", got)
	}
	if ToolsAll.String() != "web+image+video" || Tools(0).String() != "none" {
		t.Errorf("names: %s %s", ToolsAll, Tools(0))
	}
}
