package rest

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/store"
)

// The hot read responses (an MCP server, a page of them) are written by hand: reflection in
// encoding/json was most of the cost of a list page. The bytes are exactly what
// json.NewEncoder(w).Encode(gen.McpServer{…}) writes (TestFastJSONMatchesEncodingJSON).

// appendServer appends the JSON of m as gen.McpServer, fields in its declaration order.
func appendServer(b []byte, m store.MCPServer) []byte {
	b = append(b, `{"_id":`...)
	b = append(b, '"')
	b = appendEscaped(b, m.AppID)
	b = append(b, '_')
	b = appendEscaped(b, m.Slug)
	b = append(b, '"')
	b = append(b, `,"appId":`...)
	b = appendString(b, m.AppID)
	if m.Auth.Configured() {
		b = append(b, `,"auth":{"configured":true,"headerNames":[`...)
		for i, n := range m.Auth.Names() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, n)
		}
		b = append(b, `],"type":`...)
		b = appendString(b, m.Auth.Type)
		b = append(b, '}')
	}
	b = append(b, `,"createdAt":`...)
	b = strconv.AppendInt(b, m.CreatedAt, 10)
	b = append(b, `,"description":`...)
	b = appendString(b, m.Description)
	if h := m.Health; h != nil {
		b = append(b, `,"health":{"checkedAt":`...)
		b = strconv.AppendInt(b, h.CheckedAt, 10)
		b = append(b, `,"status":`...)
		b = appendString(b, h.Status)
		b = append(b, `,"toolCount":`...)
		b = strconv.AppendInt(b, int64(h.ToolCount), 10)
		b = append(b, '}')
	}
	b = append(b, `,"icon":`...)
	b = appendString(b, m.Icon)
	b = append(b, `,"name":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"slug":`...)
	b = appendString(b, m.Slug)
	b = append(b, `,"updatedAt":`...)
	b = strconv.AppendInt(b, m.UpdatedAt, 10)
	b = append(b, `,"url":`...)
	b = appendString(b, m.URL)
	return append(b, '}')
}

// appendServerList appends the JSON of gen.McpServerList for items and meta.
func appendServerList(b []byte, items []store.MCPServer, meta gen.PageMeta) []byte {
	b = append(b, `{"data":[`...)
	for i, m := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendServer(b, m)
	}
	b = append(b, `],"meta":{"current":{"count":`...)
	b = strconv.AppendInt(b, int64(meta.Current.Count), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(meta.Current.Limit), 10)
	b = append(b, '}')
	for _, c := range []struct {
		name string
		cur  *gen.PageCursor
	}{{"next", meta.Next}, {"previous", meta.Previous}} {
		if c.cur == nil {
			continue
		}
		b = append(b, `,"`+c.name+`":{"affix":`...)
		b = appendString(b, string(c.cur.Affix))
		b = append(b, `,"createdAt":`...)
		b = strconv.AppendInt(b, c.cur.CreatedAt, 10)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does by default (with
// HTML escaping, and U+2028, U+2029 and invalid UTF-8 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends the inside of s's JSON string.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// rawJSON is a 200 response whose JSON body is already encoded (with its ETag, if any). It
// satisfies the strict response interfaces of the operations that use it.
type rawJSON struct {
	body []byte
	etag string
}

func (r rawJSON) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	if r.etag != "" {
		w.Header().Set("ETag", r.etag)
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(r.body)
	return err
}

func (r rawJSON) VisitMcpServersControllerGetMcpServerBySlugResponse(w http.ResponseWriter) error {
	return r.write(w)
}

func (r rawJSON) VisitMcpServersControllerGetAllMcpServersResponse(w http.ResponseWriter) error {
	return r.write(w)
}
