"""The settings that render the platform role's values without a cluster (`platform_lab`): test
passwords and the runners' repository, shared by the platform tests."""

PLATFORM_LAB_SETTINGS = {
    "platform_lab": True,
    "platform_grafana_admin_password": "grafana-admin-password-1",
    "platform_harbor_admin_password": "harbor-admin-password-1",
    "platform_harbor_database_password": "harbor-database-password-1",
    "platform_argocd_admin_password_hash": "$2y$10$" + "a" * 53,
    "platform_runners_github_url": "https://github.com/homelab/apps",
}
