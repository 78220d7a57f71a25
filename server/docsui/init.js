// The reference is rendered from the spec this server serves. "Try it out" calls the server
// that serves this page (whatever the spec's `servers` say); the Authorize button takes the
// API key, sent as the `apikey` header.
window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayOperationId: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  persistAuthorization: true,
  requestInterceptor: (req) => {
    const u = new URL(req.url, window.location.href);
    if (u.pathname.startsWith("/v3/")) {
      req.url = window.location.origin + u.pathname + u.search;
    }
    return req;
  },
});
