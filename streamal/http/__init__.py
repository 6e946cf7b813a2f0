"""The HTTP surface: probes, metrics, the review API and the review page (FastAPI)."""
