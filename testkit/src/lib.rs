//! Test support shared by the workspace's integration tests: finding the installed test tools,
//! free loopback ports, a real fake-gcs-server on loopback, and recording stand-ins for external
//! commands such as `terraform` and `gcloud`.

mod fake_gcs;
pub mod gcloud_parse;
mod standin;
mod tools;

pub use fake_gcs::FakeGcs;
pub use gcloud_parse::ParseCheck;
pub use standin::{Call, Reply, StandIns};
pub use tools::{free_port, tool, workspace_root};
