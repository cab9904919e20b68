"""Tickets delivered by several engines at once: each handler records every delivery it commits.

A message delivered twice leaves two rows with its number. ``Flaky`` fails the first
attempt of every fifth ticket (a marker file under ``$RACE_MARKERS`` says it already
failed, whichever process tried), so retries race too.
"""

import os
from pathlib import Path

from protean import Domain, current_domain, handle
from protean.fields import Identifier, Integer

domain = Domain(name="Race")
domain.config["event_processing"] = "async"


@domain.event(part_of="Ticket")
class Opened:
    ticket_id = Identifier(required=True)
    number = Integer(required=True)


@domain.aggregate
class Ticket:
    number = Integer(required=True)

    def open(self):
        self.raise_(Opened(ticket_id=self.id, number=self.number))


@domain.aggregate
class Delivery:
    handler = Identifier(required=True)
    number = Integer(required=True)


@domain.event_handler(part_of=Delivery, stream_category="ticket")
class Record:
    @handle(Opened)
    def note(self, event):
        current_domain.repository_for(Delivery).add(Delivery(handler="Record", number=event.number))


@domain.event_handler(
    part_of=Delivery,
    stream_category="ticket",
    subscription_profile="production",
    subscription_config={"retry_delay_seconds": 0},
)
class Flaky:
    @handle(Opened)
    def note(self, event):
        if event.number % 5 == 0:
            marker = Path(os.environ["RACE_MARKERS"]) / str(event.number)
            try:
                marker.touch(exist_ok=False)
            except FileExistsError:
                pass
            else:
                raise RuntimeError(f"first attempt of ticket {event.number} fails")
        current_domain.repository_for(Delivery).add(Delivery(handler="Flaky", number=event.number))
