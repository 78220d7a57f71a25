package rest

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/jsonw"
	"github.com/agentmcp/agentmcp/store"
)

// The hot read responses (an MCP server, a page of them) are written by hand: reflection in
// encoding/json was most of the cost of a list page. The bytes are exactly what
// json.NewEncoder(w).Encode(gen.McpServer{…}) writes (TestFastJSONMatchesEncodingJSON).

// appendServer appends the JSON of m as gen.McpServer, fields in its declaration order.
func appendServer(b []byte, m store.MCPServer) []byte {
	b = append(b, `{"_id":`...)
	b = append(b, '"')
	b = jsonw.Escaped(b, m.AppID)
	b = append(b, '_')
	b = jsonw.Escaped(b, m.Slug)
	b = append(b, '"')
	b = append(b, `,"appId":`...)
	b = jsonw.String(b, m.AppID)
	if m.Auth.Configured() {
		b = append(b, `,"auth":{"configured":true,"headerNames":[`...)
		for i, n := range m.Auth.Names() {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.String(b, n)
		}
		b = append(b, `],"type":`...)
		b = jsonw.String(b, m.Auth.Type)
		b = append(b, '}')
	}
	b = append(b, `,"createdAt":`...)
	b = strconv.AppendInt(b, m.CreatedAt, 10)
	b = append(b, `,"description":`...)
	b = jsonw.String(b, m.Description)
	if h := m.Health; h != nil {
		b = append(b, `,"health":{"checkedAt":`...)
		b = strconv.AppendInt(b, h.CheckedAt, 10)
		b = append(b, `,"status":`...)
		b = jsonw.String(b, h.Status)
		b = append(b, `,"toolCount":`...)
		b = strconv.AppendInt(b, int64(h.ToolCount), 10)
		b = append(b, '}')
	}
	b = append(b, `,"icon":`...)
	b = jsonw.String(b, m.Icon)
	b = append(b, `,"name":`...)
	b = jsonw.String(b, m.Name)
	b = append(b, `,"slug":`...)
	b = jsonw.String(b, m.Slug)
	b = append(b, `,"updatedAt":`...)
	b = strconv.AppendInt(b, m.UpdatedAt, 10)
	b = append(b, `,"url":`...)
	b = jsonw.String(b, m.URL)
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
		b = jsonw.String(b, string(c.cur.Affix))
		b = append(b, `,"createdAt":`...)
		b = strconv.AppendInt(b, c.cur.CreatedAt, 10)
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// rawJSON is a 200 response whose JSON body is already encoded (with its ETag, if any). It
// satisfies the strict response interfaces of the operations that use it.
type rawJSON struct {
	body []byte
	etag string
	pool *[]byte // body's buffer, from bodies: back to it once written
}

func (r rawJSON) write(w http.ResponseWriter) error {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if r.etag != "" {
		h["Etag"] = []string{r.etag} // Set's canonical key, without Set's walk over it
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(r.body) // every writer on the way copies (or drops) what it is given
	if r.pool != nil && cap(r.body) <= 16<<10 {
		*r.pool = r.body[:0]
		bodies.Put(r.pool)
	}
	return err
}

// jsonContentType is every rawJSON's Content-Type, one slice for all: Header.Set makes one
// per response, and nothing on the way writes into a header's values (Add appends past
// its length of one, into a new array).
var jsonContentType = []string{"application/json"}

// bodies holds buffers for the bodies of single servers: the one allocation a cached GET
// made in proportion to its answer.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// pooledServer is m's JSON body with ETag tag, in a buffer from bodies.
func pooledServer(m store.MCPServer, tag string) rawJSON {
	p := bodies.Get().(*[]byte)
	return rawJSON{body: append(appendServer((*p)[:0], m), '\n'), etag: tag, pool: p}
}

func (r rawJSON) VisitMcpServersControllerGetMcpServerBySlugResponse(w http.ResponseWriter) error {
	return r.write(w)
}

func (r rawJSON) VisitMcpServersControllerGetAllMcpServersResponse(w http.ResponseWriter) error {
	return r.write(w)
}

func (r rawJSON) VisitAgentBuilderControllerAddMcpServersToAgentResponse(w http.ResponseWriter) error {
	return r.write(w)
}

func (r rawJSON) VisitAgentBuilderControllerRemoveMcpServersFromAgentResponse(w http.ResponseWriter) error {
	return r.write(w)
}
