//! Cross-service scenarios over real gRPC.
