// The reference is rendered from the spec this server serves. Its `servers` entry (a
// local agentmcp on :8080) is replaced by the server that serves this page, so the
// dropdown and "Try it out" use whatever host and port the page came from. The Authorize
// button takes the API key, sent as the `apikey` header, and keeps it in this tab's memory
// only (no persistAuthorization: it would write the key to localStorage).
const thisServer = () => ({
  statePlugins: {
    spec: {
      wrapActions: {
        updateJsonSpec: (update) => (spec) => {
          spec.servers = [{ url: window.location.origin + "/v3", description: "this agentmcp" }];
          return update(spec);
        },
      },
    },
  },
});

window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayOperationId: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  persistAuthorization: false,
  validatorUrl: null,
  plugins: [thisServer],
});
