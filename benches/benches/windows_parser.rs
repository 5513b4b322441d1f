//! Not built yet: the format's parsers come with their issue.

fn main() {}
