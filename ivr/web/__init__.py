"""The hotline's web app: health/status, staff pages and JSON API. See :func:`create_app`."""

from ivr.web.app import create_app

__all__ = ["create_app"]
