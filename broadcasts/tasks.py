"""The paths of the tasks queued before they moved beside their work (to sending and
services): the task worker finds a queued task by the path it was queued under."""

from broadcasts.sending import send_broadcast
from broadcasts.services import start_scheduled

__all__ = ["send_broadcast", "start_scheduled"]
