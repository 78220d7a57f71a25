package httpx

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/agentmcp/agentmcp/server/auth"
)

// Limiters are token buckets by key (app id, or client IP), kept per replica and dropped
// when idle. The table is bounded (MaxLimiterKeys entries of at most maxLimiterKey bytes):
// a flood of distinct keys evicts buckets instead of growing memory.
type Limiters struct {
	rate  rate.Limit
	burst int
	max   int
	mu    sync.Mutex
	m     map[string]*entry
	sweep time.Time
}

type entry struct {
	l    *rate.Limiter
	seen time.Time
}

// MaxLimiterKeys is how many buckets one Limiters keeps (about 200 bytes each).
const MaxLimiterKeys = 100_000

// maxLimiterKey is the longest key kept as it is; longer ones are kept by their hash.
const maxLimiterKey = 64

func NewLimiters(perSecond float64, burst int) *Limiters {
	if perSecond <= 0 {
		return nil
	}
	return &Limiters{rate: rate.Limit(perSecond), burst: max(1, burst), max: MaxLimiterKeys, m: map[string]*entry{}}
}

// take spends one token of key's bucket; it reports whether that was allowed, how many
// tokens are left, and how long until the bucket is full again (or, refused, until a token).
func (ls *Limiters) take(key string, now time.Time) (ok bool, left int, wait time.Duration) {
	if len(key) > maxLimiterKey {
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:16])
	}
	ls.mu.Lock()
	e := ls.m[key]
	if e == nil {
		if len(ls.m) >= ls.max {
			ls.evict(now)
		}
		e = &entry{l: rate.NewLimiter(ls.rate, ls.burst)}
		ls.m[key] = e
	}
	e.seen = now
	if now.Sub(ls.sweep) > time.Minute { // forget buckets idle long enough to be full
		ls.forgetIdle(now, time.Minute)
		ls.sweep = now
	}
	ls.mu.Unlock()
	r := e.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, 0, d
	}
	tokens := e.l.TokensAt(now)
	full := time.Duration((float64(ls.burst) - tokens) / float64(ls.rate) * float64(time.Second))
	return true, int(math.Max(0, math.Floor(tokens))), full
}

func (ls *Limiters) forgetIdle(now time.Time, idle time.Duration) {
	for k, x := range ls.m {
		if now.Sub(x.seen) > idle {
			delete(ls.m, k)
		}
	}
}

// evict makes room in a full table: first the buckets idle for a second, then, under a flood
// of new keys, an eighth of the table at random (map order). An evicted client starts again
// with a full bucket, which costs the limit some precision, never memory.
func (ls *Limiters) evict(now time.Time) {
	ls.forgetIdle(now, time.Second)
	for k := range ls.m {
		if len(ls.m) < ls.max-ls.max/8 {
			break
		}
		delete(ls.m, k)
	}
}

// peek reports whether key's bucket has a token, without spending it (a key without a
// bucket has a full one), and else how long until it has.
func (ls *Limiters) peek(key string, now time.Time) (ok bool, wait time.Duration) {
	if len(key) > maxLimiterKey {
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:16])
	}
	ls.mu.Lock()
	e := ls.m[key]
	ls.mu.Unlock()
	if e == nil {
		return true, 0
	}
	if t := e.l.TokensAt(now); t < 1 {
		return false, time.Duration((1 - t) / float64(ls.rate) * float64(time.Second))
	}
	return true, 0
}

// tooMany is the 429 past a rate, to retry after wait.
func tooMany(wait time.Duration) *Error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Message: "Too many requests; retry after " + strconv.Itoa(secs) + " s.", RetryAfter: secs}
}

// Take spends one token of key's bucket; past the rate it returns the 429 to answer. A nil
// Limiters (no limit) takes nothing.
func (ls *Limiters) Take(key string) error {
	if ls == nil {
		return nil
	}
	if ok, _, wait := ls.take(key, time.Now()); !ok {
		return tooMany(wait)
	}
	return nil
}

// LimitFailures answers 429 to a client whose bucket is empty, and spends a token only for
// a request that failed (failed(err)): a limit on bad credentials before they are checked
// that does not count the requests of a client whose key is good.
func (ls *Limiters) LimitFailures(key func(echo.Context) string, failed func(error) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if ls == nil {
			return next
		}
		return func(c echo.Context) error {
			k := key(c)
			if ok, wait := ls.peek(k, time.Now()); !ok {
				return tooMany(wait)
			}
			err := next(c)
			if err != nil && failed(err) {
				ls.take(k, time.Now())
			}
			return err
		}
	}
}

// Limit answers 429 ERR_RATE_LIMITED past key's rate, and sets the X-RateLimit headers on
// every response.
func (ls *Limiters) Limit(key func(echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if ls == nil {
			return next
		}
		return func(c echo.Context) error {
			ok, left, wait := ls.take(key(c), time.Now())
			h := c.Response().Header()
			h.Set("X-RateLimit-Limit", strconv.Itoa(ls.burst))
			h.Set("X-RateLimit-Remaining", strconv.Itoa(left))
			h.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			if !ok {
				return tooMany(wait)
			}
			return next(c)
		}
	}
}

func AppKey(c echo.Context) string {
	p, _ := auth.FromContext(c.Request().Context())
	return p.AppID
}

// IPKey is the client's address (see IPExtractor); an IPv6 client is limited by its /64,
// the block one subscriber usually gets, so walking its addresses gains nothing.
func IPKey(c echo.Context) string {
	ip, err := netip.ParseAddr(c.RealIP())
	if err != nil {
		return c.RealIP()
	}
	if ip = ip.Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// IPExtractor is how echo finds the client's address: the connection's, unless it comes from
// one of the trusted proxies, whose X-Forwarded-For then says who they forwarded for (the
// nearest address that is not itself a trusted proxy).
func IPExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
