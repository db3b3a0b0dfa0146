"""The API's routers, one module per resource."""

from __future__ import annotations

from museforge.server.routes import compositions, datasets, health, jam, jobs, melodies, models, sounds, techniques

ROUTERS = (
    health.router,
    melodies.router,
    models.router,
    jobs.router,
    compositions.router,
    techniques.router,
    datasets.router,
    jam.router,
    sounds.router,
)
