"""Widgets of `hrm watch`: the board (Line API), the side panel and its charts."""
