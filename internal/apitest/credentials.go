package apitest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/store"
)

// Credentials seals stored credentials of st with a random local key, closed at cleanup.
func Credentials(t testing.TB, st store.Store) *keyring.Service {
	t.Helper()
	var k [32]byte
	rand.Read(k[:])
	ring, err := keyring.Open(context.Background(), st, "base64key://"+base64.URLEncoding.EncodeToString(k[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	return &keyring.Service{Ring: ring, Store: st}
}
