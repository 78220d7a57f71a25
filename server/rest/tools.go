package rest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentmcp/agentmcp/gen"
)

// wireTools turns stored tools into McpTools. A tool whose inputSchema or annotations is not
// an object (what the MCP specification asks for) loses that field and says so in invalid;
// a tool that is not even an object with a name is served as invalid: stored data never
// makes GET …/tools fail.
func wireTools(stored []byte) ([]gen.McpTool, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(stored, &raw); err != nil {
		return nil, err
	}
	out := make([]gen.McpTool, 0, len(raw))
	for i, r := range raw {
		out = append(out, wireTool(i, r))
	}
	return out, nil
}

func wireTool(i int, r json.RawMessage) gen.McpTool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(r, &fields) != nil {
		return gen.McpTool{Name: fmt.Sprintf("tool_%d", i), Invalid: ptr("the tool is not a JSON object")}
	}
	var t gen.McpTool
	var problems []string
	str := func(key string) *string {
		v, ok := fields[key]
		if !ok {
			return nil
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			problems = append(problems, key+" is not a string")
			return nil
		}
		return &s
	}
	obj := func(key string) map[string]any {
		v, ok := fields[key]
		if !ok {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(v, &m) != nil || m == nil {
			problems = append(problems, key+" is not a JSON object")
		}
		return m
	}
	if name := str("name"); name != nil {
		t.Name = *name
	} else {
		t.Name = fmt.Sprintf("tool_%d", i)
	}
	t.Title, t.Description = str("title"), str("description")
	t.InputSchema, t.Annotations = obj("inputSchema"), obj("annotations")
	if prev := str("invalid"); prev != nil {
		problems = append([]string{*prev}, problems...)
	}
	if len(problems) > 0 {
		t.Invalid = ptr(strings.Join(problems, "; "))
	}
	return t
}

func ptr[T any](v T) *T { return &v }
