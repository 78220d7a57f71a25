package toolnames

import (
	"slices"
	"testing"
)

// The server attached first keeps a name; the later one's tool is the conflict, once per
// name even when it offers the name twice; a server's own repeats are not conflicts.
func TestConflictsFirstAttachedWins(t *testing.T) {
	got := Conflicts([]Server{
		{Slug: "web", Names: []string{"search", "fetch", "fetch"}},
		{Slug: "docs", Names: []string{"read", "search", "search"}},
		{Slug: "never-probed"},
		{Slug: "mirror", Names: []string{"fetch", "search", "read"}},
	})
	want := []Conflict{
		{Name: "search", Server: "docs", ConflictsWith: "web"},
		{Name: "fetch", Server: "mirror", ConflictsWith: "web"},
		{Name: "search", Server: "mirror", ConflictsWith: "web"},
		{Name: "read", Server: "mirror", ConflictsWith: "docs"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Conflicts:\n got %+v\nwant %+v", got, want)
	}
	if c := Conflicts([]Server{{Slug: "a", Names: []string{"x"}}, {Slug: "b", Names: []string{"y"}}}); c != nil {
		t.Fatalf("distinct names conflict: %+v", c)
	}
}

func TestToolNames(t *testing.T) {
	names, err := ToolNames([]byte(`[{"name":"a","inputSchema":{}},{"title":"no name"},{"name":5},"junk",{"name":"b"}]`))
	if err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("ToolNames = %q, %v", names, err)
	}
	if _, err := ToolNames([]byte(`{"not":"a list"}`)); err == nil {
		t.Fatal("a stored list that is not an array decoded")
	}
}
