"""The studio web server: :func:`museforge.server.app.create_app` and :func:`museforge.server.app.serve`."""
