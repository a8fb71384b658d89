//! Test support shared by the workspace's integration tests: finding the installed test tools,
//! free loopback ports, a real fake-gcs-server on loopback, a proxy in front of it (latency, faults
//! and Cloud Storage's permission check), the Chronicle API's feed list, a throw-away Terraform root for `terraform console`, recording stand-ins for external commands such as
//! `terraform` and `gcloud`, the real gcloud as an argument checker, and the local cloud
//! (fake-gcs-server behind a permission-checking proxy per identity, the Pub/Sub emulator, the
//! collector as a service, a `gcloud` shim).

mod cargo_bin;
mod chronicle;
mod cloud_project;
mod fake_gcs;
mod freshness;
mod gcloud_messages;
pub mod gcloud_parse;
mod local_cloud;
mod loopback_http;
mod pubsub;
mod reaper;
mod registry;
mod resource_manager;
mod standin;
mod storage_proxy;
mod terraform_root;
mod tools;

pub use cargo_bin::cargo_bin;
pub use chronicle::{Chronicle, gcs_v2_feed};
pub use cloud_project::{CloudProject, DEPLOYMENT_APIS};
pub use fake_gcs::FakeGcs;
pub use freshness::{
    FreshnessError, FreshnessPlan, FreshnessReport, Percentiles, run as run_freshness,
};
pub use gcloud_messages::{ApiMessage, check_message};
pub use gcloud_parse::ParseCheck;
pub use local_cloud::{Deployment, GCLOUD_SHIM, LOCAL_ACCESS_TOKEN, LocalCloud, ShimCall};
pub use loopback_http::{Answer, SeenRequest};
pub use pubsub::{PubSubEmulator, PubSubError};
pub use reaper::Reaped;
pub use registry::{RegistryAuth, TestRegistry};
pub use resource_manager::ResourceManager;
pub use standin::{Call, Reply, StandIns};
pub use storage_proxy::{
    Access, FaultedRequests, StorageFault, StorageFaultPlan, StorageProxy, StorageProxyError,
};
pub use terraform_root::{TerraformRoot, module_arguments};
pub use tools::{free_port, tool, workspace_root};
