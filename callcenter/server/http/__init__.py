"""The HTTP side: the REST API and its OpenAPI document, rate limits, Prometheus metrics."""
