//! Tests of playing and scoring conversations.
