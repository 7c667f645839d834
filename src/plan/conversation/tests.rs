//! Tests of conversation planning.
