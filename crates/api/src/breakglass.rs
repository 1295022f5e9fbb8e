//! Break-glass uses and their review.
