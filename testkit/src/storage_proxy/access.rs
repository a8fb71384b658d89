//! Cloud Storage's permission check, which fake-gcs-server does not have: what a principal may do
//! ([`Access`]), which permission a request needs, and the 403 error Cloud Storage answers when
//! the principal lacks it.

use hyper::Method;

/// What the principal behind a proxy may do with the bucket's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `roles/storage.objectUser`: read, create, replace.
    ReadWrite,
    /// `roles/storage.objectViewer`: read and list only.
    ReadOnly,
    /// No role on the bucket.
    None,
}

/// A Cloud Storage IAM permission a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Permission {
    ObjectsGet,
    ObjectsList,
    ObjectsCreate,
    ObjectsDelete,
    BucketsGet,
}

impl Permission {
    /// The permission `method` on `path` (a JSON API path, without the query) needs.
    pub(super) fn needed(method: &Method, path: &str) -> Permission {
        let object = path.contains("/o/") || path.ends_with("/o");
        match (method.as_str(), object) {
            ("GET" | "HEAD", true) if path.ends_with("/o") => Permission::ObjectsList,
            ("GET" | "HEAD", true) => Permission::ObjectsGet,
            ("GET" | "HEAD", false) => Permission::BucketsGet,
            ("DELETE", _) => Permission::ObjectsDelete,
            _ => Permission::ObjectsCreate,
        }
    }

    /// IAM's name for it, e.g. `storage.objects.get`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Permission::ObjectsGet => "storage.objects.get",
            Permission::ObjectsList => "storage.objects.list",
            Permission::ObjectsCreate => "storage.objects.create",
            Permission::ObjectsDelete => "storage.objects.delete",
            Permission::BucketsGet => "storage.buckets.get",
        }
    }

    /// The resource Cloud Storage's message names: listing is checked on the bucket.
    fn resource(self) -> &'static str {
        match self {
            Permission::ObjectsList | Permission::BucketsGet => "bucket",
            Permission::ObjectsGet | Permission::ObjectsCreate | Permission::ObjectsDelete => {
                "object"
            }
        }
    }
}

impl Access {
    /// Whether the role grants `permission`.
    pub(super) fn grants(self, permission: Permission) -> bool {
        match self {
            Access::ReadWrite => true,
            Access::ReadOnly => matches!(
                permission,
                Permission::ObjectsGet | Permission::ObjectsList | Permission::BucketsGet
            ),
            Access::None => false,
        }
    }
}

/// The `Content-Type` of Cloud Storage's JSON errors.
pub(super) const DENIAL_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// The body of Cloud Storage's 403 answer to `principal` lacking `permission`.
pub(super) fn denial(principal: &str, permission: Permission) -> String {
    let name = permission.name();
    let message = format!(
        "{principal} does not have {name} access to the Google Cloud Storage {}. \
         Permission '{name}' denied on resource (or it may not exist).",
        permission.resource()
    );
    serde_json::json!({"error": {"code": 403, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": "forbidden"}]}})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_needs_the_permission_cloud_storage_checks() {
        let cases = [
            (
                "GET",
                "/storage/v1/b/bkt/o/a%2Fb.ndjson",
                "storage.objects.get",
            ),
            ("HEAD", "/storage/v1/b/bkt/o/a", "storage.objects.get"),
            (
                "GET",
                "/download/storage/v1/b/bkt/o/a",
                "storage.objects.get",
            ),
            ("GET", "/storage/v1/b/bkt/o", "storage.objects.list"),
            ("GET", "/storage/v1/b/bkt", "storage.buckets.get"),
            (
                "POST",
                "/upload/storage/v1/b/bkt/o",
                "storage.objects.create",
            ),
            (
                "PUT",
                "/upload/storage/v1/b/bkt/o",
                "storage.objects.create",
            ),
            ("PATCH", "/storage/v1/b/bkt/o/a", "storage.objects.create"),
            ("DELETE", "/storage/v1/b/bkt/o/a", "storage.objects.delete"),
        ];
        for (method, path, permission) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(
                Permission::needed(&method, path).name(),
                permission,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn roles_grant_what_their_names_say() {
        use Permission::*;
        let all = [
            ObjectsGet,
            ObjectsList,
            ObjectsCreate,
            ObjectsDelete,
            BucketsGet,
        ];
        for permission in all {
            assert!(Access::ReadWrite.grants(permission), "{permission:?}");
            assert!(!Access::None.grants(permission), "{permission:?}");
            assert_eq!(
                Access::ReadOnly.grants(permission),
                matches!(permission, ObjectsGet | ObjectsList | BucketsGet),
                "{permission:?}"
            );
        }
    }

    #[test]
    fn the_denial_is_cloud_storages_403_naming_principal_and_permission() {
        let body: serde_json::Value = serde_json::from_str(&denial(
            "sa@p.iam.gserviceaccount.com",
            Permission::ObjectsCreate,
        ))
        .unwrap();
        let message = "sa@p.iam.gserviceaccount.com does not have storage.objects.create access \
                       to the Google Cloud Storage object. Permission 'storage.objects.create' \
                       denied on resource (or it may not exist).";
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": 403, "message": message, "errors": [
                {"message": message, "domain": "global", "reason": "forbidden"}]}})
        );
        let listing: serde_json::Value =
            serde_json::from_str(&denial("me@example.com", Permission::ObjectsList)).unwrap();
        assert_eq!(
            listing["error"]["message"],
            "me@example.com does not have storage.objects.list access to the Google Cloud \
             Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not \
             exist)."
        );
    }
}
