"""The live desk (issue 13): what agents and supervisors see change as it happens.

* :mod:`ivr.desk.events`: typed desk events and who may receive them;
* :mod:`ivr.desk.board`: queue and agent state from AMI events (sans-IO, resynced from
  ``QueueStatus``);
* :mod:`ivr.desk.hub`: fan-out to browsers with bounded per-client buffers and resume by
  ``Last-Event-ID``; :mod:`ivr.desk.bus`: across processes (Redis pub/sub, or in-process);
* :mod:`ivr.desk.pop`: the screen pop's call context; :mod:`ivr.desk.dialler`: callbacks by
  AMI ``Originate``; :mod:`ivr.desk.service`: the :class:`Desk` that wires them together.
"""

from ivr.desk.events import DeskEvent
from ivr.desk.service import Desk

__all__ = ["Desk", "DeskEvent"]
