//! PostgreSQL and MongoDB logs end to end (not built yet: comes with its issue).
