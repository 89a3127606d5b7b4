"""Help pages that read like the rest of the command line: `hrm export [OPTIONS] WEIGHTS` rather than
typer's `{weights}`, and no `<bool>` beside a flag that takes no value. Both adjust typer's own
display hooks, and leave its help as it is when a typer version lacks them."""

from __future__ import annotations

from typing import Any

from typer import core


def _flag_aware(display_type: Any) -> Any:
    def display(self: Any, ctx: Any) -> str:
        return "" if getattr(self, "is_flag", False) or getattr(self, "count", False) else display_type(self, ctx)
    return display


def _usage_name(self: Any) -> str:
    name = (self.metavar or self.name or "").upper()
    return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")


def install() -> None:
    if hasattr(core, "TyperOption") and hasattr(core.TyperOption, "display_type"):
        core.TyperOption.display_type = _flag_aware(core.TyperOption.display_type)
    if hasattr(core, "TyperArgument") and hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = _usage_name
