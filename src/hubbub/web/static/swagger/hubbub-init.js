// Starts Swagger UI on /docs. A file, not an inline script, so the page's Content-Security-Policy
// can forbid inline scripts (the page shares its origin with the web client's stored token).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
