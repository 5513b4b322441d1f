//! MySQL / MariaDB slow query logs end to end (not built yet: comes with its issue).
