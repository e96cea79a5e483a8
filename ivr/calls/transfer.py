"""The transfer step of a call: the dialog's ``Transfer`` through the hand-off port.

A caller is never told "connecting you" and then "no agent is available": the hold
announcement right before a ``Transfer`` is skipped unless the hand-off can happen (someone
logged in, inside office hours). After an internal error a caller who is still there is handed
to an agent rather than dropped (:meth:`TransferStep.rescue`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from dialogs.actions import Action, Say, Transfer
from ivr.calls.ports import HandoffCall, HandoffPort, TransferResult

log = logging.getLogger(__name__)


class TransferStep:
    def __init__(self, handoff: HandoffPort) -> None:
        self.handoff = handoff

    async def announcement_to_skip(self, actions: Sequence[Action]) -> Say | None:
        """The "please hold, connecting you" prompt right before a Transfer in ``actions``, if
        the transfer cannot happen now; None otherwise."""
        for i, action in enumerate(actions):
            if isinstance(action, Transfer) and i > 0:
                before = actions[i - 1]
                if isinstance(before, Say) and not await self._possible(action):
                    return before
                return None
        return None

    async def _possible(self, transfer: Transfer) -> bool:
        try:
            ok, _why = await self.handoff.availability(self.handoff.queue_for(transfer.queue))
        except Exception:  # the transfer itself will find out and report it
            return True
        return ok

    async def transfer(self, call: HandoffCall, action: Transfer) -> TransferResult:
        return await self.handoff.transfer(call, action)

    async def rescue(self, call: HandoffCall, queue: str) -> bool:
        """After an internal error, hand the caller to ``queue``; True if that worked."""
        try:
            res = await self.handoff.transfer(call, Transfer(queue=queue, reason="error", context={}))
        except Exception:
            log.exception("could not hand the call over after an error")
            return False
        return res.ok
