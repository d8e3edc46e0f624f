//! healthcheck
