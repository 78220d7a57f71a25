package httpx

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"

	"github.com/labstack/echo/v4"
)

// MaxRequestIDLen is the longest X-Request-Id taken from a client.
const MaxRequestIDLen = 64

// RequestID sets X-Request-Id on the response: the client's, when it is a short id of safe
// characters (1 to 64 of A-Z a-z 0-9 . _ -), else a new one. The audit trail and the logs
// record this one, so a client can neither bloat them nor write into them what it likes.
func RequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID is 128 random bits in hex. An id needs to be unique, not secret: the
// runtime's per-thread generator (ChaCha8, seeded by the system) gives that without
// crypto/rand's system call, which was a fiftieth of a cached GET.
func newRequestID() string {
	var b [16]byte
	var s [32]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	hex.Encode(s[:], b[:])
	return string(s[:])
}
