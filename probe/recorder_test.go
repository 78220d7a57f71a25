package probe

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRecorderIsBounded: a gateway's upstream session sends one request per call through
// the same recorder for as long as it lives; what it keeps must not grow with them.
func TestRecorderIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer srv.Close()
	rec := &recorder{base: http.DefaultTransport, each: 1 << 10}
	for range 1000 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
		resp, err := rec.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(rec.statuses) > 8 || rec.first() != http.StatusAccepted {
		t.Fatalf("after 1,000 requests the recorder keeps %d statuses (first %d)", len(rec.statuses), rec.first())
	}
}
