"""A call's media: AudioSocket (:mod:`.audiosocket`, the default) or AGI-only (:mod:`.agi`).
Both implement :class:`ivr.calls.ports.Media`."""
