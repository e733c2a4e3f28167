//! The live hub: pushes newly recorded release events to open pages (issue 5).
