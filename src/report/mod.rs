//! Reports: terminal tables, JSON, CSV, JUnit XML and Markdown — each written to
//! `&mut dyn Write` so tests can snapshot them.
