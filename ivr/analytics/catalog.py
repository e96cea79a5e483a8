"""The services, complaint categories and agencies of the hotline in readable Indonesian: kept
in :mod:`ivr.storage.catalog` (beside the codes, where the desk's screen pop reads them too)
and named here for the analytics."""

from __future__ import annotations

from ivr.storage.catalog import (
    AGENCIES,
    CATEGORIES,
    SERVICE_NAMES,
    SERVICES,
    Service,
    agency_label,
    category_label,
    service_label,
    service_queue,
)

__all__ = ["Service", "SERVICES", "SERVICE_NAMES", "CATEGORIES", "AGENCIES", "service_label",
           "category_label", "agency_label", "service_queue"]
