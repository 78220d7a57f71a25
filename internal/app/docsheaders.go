package app

import "github.com/labstack/echo/v4"

// docsCSP lets the Swagger UI page load its own scripts, styles and images and call this
// server's API, and nothing else; no page may frame it.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// docsHeaders are the browser hardening headers of /docs and /openapi.yaml: the page holds
// an API key once the user authorizes.
func docsHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}
