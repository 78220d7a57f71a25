package rest

import (
	"github.com/agentmcp/agentmcp/internal/jsonw"
	"github.com/agentmcp/agentmcp/store"
)

// agentReply is the 200 of mcp/add and mcp/remove with the bytes the generated response
// writes (json.Encoder of gen.AgentResponse, newline included; TestFastJSONMatchesEncodingJSON),
// by hand: the attached list can be thousands of slugs, and encoding/json's reflection over
// it was a tenth of an attach's cost.
func agentReply(a store.Agent) rawJSON {
	b := append(make([]byte, 0, jsonw.Size(a.MCPServers)), `{"data":`...)
	b = append(appendWireAgent(b, a), `,"success":true}`+"\n"...)
	return rawJSON{body: b, etag: *etag(store.AgentVersion(a))}
}

// appendWireAgent appends wireAgent(a) as encoding/json writes it (gen.Agent's fields in order).
func appendWireAgent(b []byte, a store.Agent) []byte {
	o := jsonw.Obj{B: b}
	o.Strs("apiTools", a.APITools).Str("appId", a.AppID).Int("createdAt", a.CreatedAt).
		Str("description", a.Description).Strs("files", a.Files).Str("formattedInstruction", a.Instruction).
		Strs("frontendActions", a.FrontendActions).Key("gateway")
	o.B = a.Gateway.AppendJSON(o.B)
	o.Str("icon", a.Icon).Str("instruction", a.Instruction).
		Bool("isActive", a.IsActive).IntPtr("lastMessageAt", a.LastMessageAt).Strs("mcpServers", a.MCPServers).
		Value("metaData", a.MetaData).Str("model", a.Model).Value("modelMetaData", a.ModelMetaData).
		Str("name", a.Name).Strs("otherKbIntegrations", a.OtherKbIntegrations).Str("ragVersion", a.RagVersion).
		Strs("tools", a.Tools).Str("uid", a.UID).Int("updatedAt", a.UpdatedAt).Strs("websites", a.Websites)
	return o.End()
}
