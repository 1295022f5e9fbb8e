//! Who has what, now or at an instant, and what changed.
