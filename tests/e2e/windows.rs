//! Windows events end to end (not built yet: comes with its issue).
