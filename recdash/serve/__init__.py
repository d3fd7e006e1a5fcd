"""Serving a trained run to a shop over HTTP: the app (`api`), the shoppers' live events
(`events`), API keys (`keys`), the served run and its reload (`state`), and request metrics
(`metrics`). Built on FastAPI and uvicorn; scale-out is several uvicorn workers on one host and
any load balancer across hosts (README, "Serving"). Nothing here imports Streamlit.
"""
