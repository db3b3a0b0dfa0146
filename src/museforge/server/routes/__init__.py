"""The API's routers, one module per resource."""

from __future__ import annotations

from museforge.server.routes import compositions, datasets, health, jobs, melodies, models, techniques

ROUTERS = (
    health.router,
    melodies.router,
    models.router,
    jobs.router,
    compositions.router,
    techniques.router,
    datasets.router,
)
