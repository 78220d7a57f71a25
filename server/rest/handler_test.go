package rest

import (
	"reflect"
	"testing"

	"github.com/agentmcp/agentmcp/internal/service"
)

// TestHandlersWriteThroughTheService: the store the handlers hold has none of the writes
// the service makes, so a handler cannot skip the service's side effects (sealing, limits,
// probe enqueue) by writing to the store itself.
func TestHandlersWriteThroughTheService(t *testing.T) {
	reads := reflect.TypeFor[Store]()
	writes := reflect.TypeFor[service.Store]()
	// The reads the service's checks need; the handlers may read them too.
	shared := map[string]bool{"GetAgent": true, "ListAPIKeys": true}
	n := 0
	for i := range writes.NumMethod() {
		name := writes.Method(i).Name
		if shared[name] {
			continue
		}
		n++
		if _, ok := reads.MethodByName(name); ok {
			t.Errorf("rest.Store has %s, a write of service.Store: write through the service", name)
		}
	}
	if n == 0 {
		t.Fatal("service.Store has no writes")
	}
}
