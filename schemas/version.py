"""The sample-record schema version. Bump the minor for additive fields, the major for breaking ones."""

SCHEMA_VERSION = "1.0"
