"""The call core: one call's session and what it uses (media, understanding, speaking, hand-off),
the typed ports between them (:mod:`ivr.calls.ports`), the shared runtime and the controller."""
