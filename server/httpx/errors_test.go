package httpx

import (
	"reflect"
	"testing"

	"github.com/agentmcp/agentmcp/gen"
)

// TestErrorBodyIsErrorResponse: httpx renders the spec's ErrorResponse without importing
// gen, so its own body and detail types must have the generated ones' fields, types and
// JSON names, in order.
func TestErrorBodyIsErrorResponse(t *testing.T) {
	same := func(ours, theirs reflect.Type) {
		t.Helper()
		if ours.NumField() != theirs.NumField() {
			t.Fatalf("%v has %d fields, %v %d", ours, ours.NumField(), theirs, theirs.NumField())
		}
		for i := range ours.NumField() {
			a, b := ours.Field(i), theirs.Field(i)
			if a.Name != b.Name || a.Tag.Get("json") != b.Tag.Get("json") || a.Type.Kind() != b.Type.Kind() {
				t.Errorf("%v.%s `%s` (%v) ≠ %v.%s `%s` (%v)", ours, a.Name, a.Tag, a.Type, theirs, b.Name, b.Tag, b.Type)
			}
		}
	}
	same(reflect.TypeFor[errorBody](), reflect.TypeFor[gen.ErrorResponse]())
	same(reflect.TypeFor[Detail](), reflect.TypeFor[gen.ErrorDetail]())
}
