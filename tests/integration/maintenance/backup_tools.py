"""Settings the maintenance tests share."""

from cluster_harness import BIN

# The controller's tools that verify a backup: the binaries `make setup` built.
VERIFY_TOOLS = {
    "etcd_backup_verify_age": str(BIN / "age"),
    "etcd_backup_verify_etcd": str(BIN / "etcd"),
    "etcd_backup_verify_etcdutl": str(BIN / "etcdutl"),
    "etcd_backup_verify_etcdctl": str(BIN / "etcdctl"),
}
