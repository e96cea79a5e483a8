"""Analytics of the hotline: what its calls, turns, hand-offs and tickets say.

Everything here reads the store's tables with SQLAlchemy Core (the same on SQLite and
PostgreSQL) and returns frozen dataclasses that the CLI, the reports and (later) the web pages
render. Every function is plain synchronous code: callers on an event loop run them in a worker
thread. Nothing here returns a NIK, a phone number or a name; regional counts under the
disclosure threshold are shown as "<5" (:mod:`ivr.analytics.privacy`).

Modules: ``areas`` (Kemendagri codes of the regency), ``catalog`` (services, categories,
agencies, topics), ``calendar`` (holidays, Ramadan, paydays, bansos waves...), ``demo``
(deterministic demo history), ``db`` (portable SQL helpers), ``queries`` (dashboard figures),
``forecast`` and ``staffing`` (demand and Erlang C), ``alerts`` (surges), ``topics``
(complaint patterns), ``stuck`` (dialog states), ``brief`` (policy brief from editable rules),
``reports`` (HTML, PDF, CSV).
"""
