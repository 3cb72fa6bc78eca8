//! Anonymization: deterministic keyed transformers (in progress).
