// The API documentation: Swagger UI from the swagger-ui-bundle package, served by streamal itself (no CDN).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
