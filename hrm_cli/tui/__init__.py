"""`hrm watch`: the model's reasoning, segment by segment, in the terminal (Textual).

Only hrm_cli.commands.watch imports this package, and only inside its command body.
"""

from hrm_cli.tui.app import WatchApp, make_app
from hrm_cli.tui.session import FrameSource, Session, model_source

__all__ = ["FrameSource", "Session", "WatchApp", "make_app", "model_source"]
