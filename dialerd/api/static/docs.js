// Starts Swagger UI on this server's document; a file of its own, so the page needs no inline
// script (its Content-Security-Policy allows none).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // never send the document to an outside validator
});
