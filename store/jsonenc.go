package store

import "github.com/agentmcp/agentmcp/internal/jsonw"

// appendAuditAgent appends json.Marshal(a) (jsonw: an agent's lists can be long).
func appendAuditAgent(b []byte, a *auditAgent) []byte {
	o := jsonw.Obj{B: b}
	o.Str("uid", a.UID).Str("appId", a.AppID).Str("name", a.Name).Str("icon", a.Icon).
		Bool("isActive", a.IsActive).Str("description", a.Description).
		Strs("tools", a.Tools).Strs("files", a.Files).Strs("websites", a.Websites).
		Strs("otherKbIntegrations", a.OtherKbIntegrations).Strs("apiTools", a.APITools).
		Strs("mcpServers", a.MCPServers).Strs("frontendActions", a.FrontendActions).
		Str("ragVersion", a.RagVersion).IntPtr("lastMessageAt", a.LastMessageAt).
		Str("instruction", a.Instruction).Value("metaData", a.MetaData).Str("model", a.Model).
		Value("modelMetaData", a.ModelMetaData).Key("gateway")
	o.B = a.Gateway.AppendJSON(o.B)
	o.Int("createdAt", a.CreatedAt).Int("updatedAt", a.UpdatedAt)
	return o.End()
}
