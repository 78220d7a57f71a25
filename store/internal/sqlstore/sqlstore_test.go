package sqlstore

import (
	"context"
	"errors"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

func TestDollar(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":              "SELECT 1",
		"a = ? AND b IN (?, ?)": "a = $1 AND b IN ($2, $3)",
		"status = 'ok?' AND x = ? AND y = '''?' || ?": "status = 'ok?' AND x = $1 AND y = '''?' || $2",
		"s = ANY(?::text[])":                          "s = ANY($1::text[])",
	} {
		if got := Dollar(in); got != want {
			t.Errorf("Dollar(%q) = %q, want %q", in, got, want)
		}
		if got := Dollar(in); got != want {
			t.Errorf("memoized Dollar(%q) = %q", in, got)
		}
	}
}

// TestPageSQL: every page binds the app, then the cursor if any, then the limit.
func TestPageSQL(t *testing.T) {
	for _, tc := range []struct {
		p       store.Page
		tail    string
		args    int
		reverse bool
	}{
		{store.Page{Limit: 5}, " ORDER BY x.created_at DESC LIMIT ?", 2, false},
		{store.Page{Limit: 5, Affix: store.AffixAppend, CreatedAt: 9}, " AND x.created_at < ? ORDER BY x.created_at DESC LIMIT ?", 3, false},
		{store.Page{Limit: 5, Affix: store.AffixPrepend, CreatedAt: 9}, " AND x.created_at > ? ORDER BY x.created_at ASC LIMIT ?", 3, true},
	} {
		q, args, reverse := PageSQL("BASE", "x.", "app", tc.p)
		if q != "BASE"+tc.tail || len(args) != tc.args || args[0] != "app" || args[len(args)-1] != 5 || reverse != tc.reverse {
			t.Errorf("PageSQL(%+v) = %q %v %v", tc.p, q, args, reverse)
		}
	}
}

// A change whose caller ran out of time while queued is a 503, never a 500.
func TestLeftQueue(t *testing.T) {
	if err := leftQueue(context.DeadlineExceeded); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v, want ErrUnavailable wrapping it", err)
	}
	if err := leftQueue(context.Canceled); err != context.Canceled {
		t.Fatalf("cancelled: %v, want context.Canceled as it is", err)
	}
}
