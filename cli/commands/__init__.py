"""Command groups; importing this package registers them on :data:`workbench.cli.main.app`."""

from workbench.cli.commands import (  # noqa: F401
    aggregates,
    checks,
    clock_cmd,
    consumers,
    dead_letter_tools,
    dead_letters,
    domain_info,
    events,
    processing,
    raising,
    replaying,
    script_cmd,
    sending,
    shell_cmd,
    snapshots,
    store_cmd,
)
