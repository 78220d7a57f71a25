package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RegistryQuery selects what ListRegistry returns: up to Limit MCP servers and up to Limit
// agents of one app, each kind in ascending byte order of its key (slug, uid).
type RegistryQuery struct {
	Servers, Agents RegistryRange
	// Search keeps the records whose key, name or description contains it, ignoring case
	// ("" keeps all). SQLite folds ASCII letters only.
	Search string
	// UpdatedSince keeps the records with updatedAt greater than it (epoch ms; 0 keeps all).
	UpdatedSince int64
	Limit        int
}

// RegistryRange selects the records of one kind.
type RegistryRange struct {
	Skip  bool   // none of this kind
	After string // only keys greater than this ("" from the first)
	Key   string // only this key (After is then ignored)
}

// RegistryPage is what ListRegistry returns.
type RegistryPage struct {
	Servers []MCPServer
	Agents  []Agent
}

// RegistryStore keeps each app's switch for its read-only MCP Registry view and lists what
// the view shows. Nothing here is cached: a switch or a delete shows at the next read.
type RegistryStore interface {
	// SetRegistry turns the app's registry view on or off; ErrNotFound for an unknown app.
	SetRegistry(ctx context.Context, appID string, on bool) error
	// RegistryEnabled reports whether the app's registry view is on; ErrNotFound for an
	// unknown app.
	RegistryEnabled(ctx context.Context, appID string) (bool, error)
	// ListRegistry returns the records q selects; ErrNotFound, alike, when the app does not
	// exist and when its registry view is off.
	ListRegistry(ctx context.Context, appID string, q RegistryQuery) (RegistryPage, error)
}

// RegistryWhere builds, for both SQL dialects, the conditions that follow "app_id = the
// first placeholder" in a ListRegistry query on one kind (table alias, key column key) and
// their arguments. collate follows the key where it is compared in order; ph returns the next
// placeholder; contains writes a case-insensitive substring test of a column.
func (q RegistryQuery) RegistryWhere(r RegistryRange, alias, key, collate string, ph func() string, contains func(col, arg string) string) (string, []any) {
	var b strings.Builder
	var args []any
	switch {
	case r.Key != "":
		b.WriteString(" AND " + alias + key + " = " + ph())
		args = append(args, r.Key)
	case r.After != "":
		b.WriteString(" AND " + alias + key + collate + " > " + ph())
		args = append(args, r.After)
	}
	if q.UpdatedSince > 0 {
		b.WriteString(" AND " + alias + "updated_at > " + ph())
		args = append(args, q.UpdatedSince)
	}
	if q.Search != "" {
		term := strings.ToLower(q.Search)
		sep := " AND ("
		for _, col := range []string{key, "name", "description"} {
			b.WriteString(sep + contains(alias+col, ph()))
			args = append(args, term)
			sep = " OR "
		}
		b.WriteString(")")
	}
	b.WriteString(" ORDER BY " + alias + key + collate)
	return b.String(), args
}

// RegistryOff is ListRegistry's error for an app whose view cannot be read because of
// err from RegistryEnabled (nil: the view is off): a missing app and a switched-off view are
// the same ErrNotFound.
func RegistryOff(appID string, err error) error {
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("registry of app %q: %w", appID, ErrNotFound)
}
