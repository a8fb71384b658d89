//! Test support shared by the workspace's integration tests: finding the installed test tools,
//! free loopback ports, a real fake-gcs-server on loopback, a latency and fault proxy in front of
//! it, and recording stand-ins for external commands such as `terraform` and `gcloud`.

mod fake_gcs;
pub mod gcloud_parse;
mod standin;
mod storage_proxy;
mod tools;

pub use fake_gcs::FakeGcs;
pub use gcloud_parse::ParseCheck;
pub use standin::{Call, Reply, StandIns};
pub use storage_proxy::{FaultedRequests, StorageFault, StorageFaultPlan, StorageProxy};
pub use tools::{free_port, tool, workspace_root};
