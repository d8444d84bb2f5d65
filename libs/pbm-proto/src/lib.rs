//! Generated code for the PBM gRPC contracts (`proto/pbm/<service>/v1`).
//!
//! Keep this crate thin: no domain types, no conversions. Services convert in their own
//! `grpc/convert.rs`. Beside the contracts, one piece every client shares: [`tls`], how a
//! client reaches a server over TLS.

pub use prost;
pub use tonic;

pub mod tls;

/// Encoded file descriptor set of every PBM proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("pbm_descriptor");

pub mod common {
    pub mod v1 {
        tonic::include_proto!("pbm.common.v1");
    }
}

pub mod indicator {
    pub mod v1 {
        tonic::include_proto!("pbm.indicator.v1");
    }
}

pub mod agency {
    pub mod v1 {
        tonic::include_proto!("pbm.agency.v1");
    }
}

pub mod goal {
    pub mod v1 {
        tonic::include_proto!("pbm.goal.v1");
    }
}

pub mod monitoring {
    pub mod v1 {
        tonic::include_proto!("pbm.monitoring.v1");
    }
}

pub mod evaluation {
    pub mod v1 {
        tonic::include_proto!("pbm.evaluation.v1");
    }
}

pub mod region {
    pub mod v1 {
        tonic::include_proto!("pbm.region.v1");
    }
}

pub mod audit {
    pub mod v1 {
        tonic::include_proto!("pbm.audit.v1");
    }
}

pub mod bench {
    pub mod v1 {
        tonic::include_proto!("pbm.bench.v1");
    }
}
