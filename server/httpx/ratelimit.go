package httpx

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Limiters are token buckets by key (app id, or client IP), kept per replica and dropped
// when idle.
type Limiters struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*entry
	sweep time.Time
}

type entry struct {
	l    *rate.Limiter
	seen time.Time
}

func NewLimiters(perSecond float64, burst int) *Limiters {
	if perSecond <= 0 {
		return nil
	}
	return &Limiters{rate: rate.Limit(perSecond), burst: max(1, burst), m: map[string]*entry{}}
}

// take spends one token of key's bucket; it reports whether that was allowed, how many
// tokens are left, and how long until the bucket is full again (or, refused, until a token).
func (ls *Limiters) take(key string, now time.Time) (ok bool, left int, wait time.Duration) {
	ls.mu.Lock()
	e := ls.m[key]
	if e == nil {
		e = &entry{l: rate.NewLimiter(ls.rate, ls.burst)}
		ls.m[key] = e
	}
	e.seen = now
	if now.Sub(ls.sweep) > time.Minute { // forget buckets idle long enough to be full
		for k, x := range ls.m {
			if now.Sub(x.seen) > time.Minute {
				delete(ls.m, k)
			}
		}
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

// limit answers 429 ERR_RATE_LIMITED past key's rate, and sets the X-RateLimit headers on
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
				h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
				return NewError(http.StatusTooManyRequests, CodeRateLimited, "Too many requests; retry after %d s.", max(1, int(math.Ceil(wait.Seconds()))))
			}
			return next(c)
		}
	}
}

func AppKey(c echo.Context) string {
	p, _ := PrincipalFrom(c.Request().Context())
	return p.AppID
}

func IPKey(c echo.Context) string { return c.RealIP() }
