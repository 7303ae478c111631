"""What base_hardening leaves on the hosts: real services, files written, kernel state untouched."""

import re

import pytest

BLACKLIST = ["cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "udf", "usb-storage", "dccp", "sctp", "rds", "tipc"]
PROTOCOLS = ["n-hdlc", "ax25", "netrom", "x25", "rose", "decnet", "econet", "af_802154", "ipx", "appletalk", "atm"]


def has_line(host, path, pattern):
    """Whether a line of the file matches the Python regular expression."""
    return re.search(pattern, host.file(path).content_string, re.M) is not None


def control_plane(host):
    return host.backend.name.endswith("debian12")


def sshd(host):
    return dict(line.split(" ", 1) for line in host.check_output("sshd -T").splitlines())


def test_systemd_runs_without_failed_units(host):
    # The audit units are skipped by their container condition instead of failing.
    assert host.run("systemctl is-system-running").stdout.strip() == "running", host.run("systemctl --failed").stdout
    for unit in ["auditd.service", "audit-rules.service"]:
        assert has_line(
            host, f"/etc/systemd/system/{unit}.d/homelab-container.conf", "^ConditionVirtualization=!container$"
        )


def test_sshd_runs_the_hardened_configuration(host):
    assert host.service("ssh").is_running
    config = sshd(host)
    expected = {
        "permitrootlogin": "no",
        "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no",
        "permitemptypasswords": "no",
        "maxauthtries": "3",
        "logingracetime": "30",
        "clientaliveinterval": "300",
        "clientalivecountmax": "2",
        "maxsessions": "2",
        "x11forwarding": "no",
        "disableforwarding": "yes",
        "allowtcpforwarding": "no",
        "allowagentforwarding": "no",
        "compression": "no",
        "tcpkeepalive": "no",
        "allowgroups": "sudo",
        "banner": "/etc/issue.net",
    }
    assert {key: config.get(key) for key in expected} == expected
    assert not re.search(r"sha1|cbc|md5|nistp", config["kexalgorithms"] + config["ciphers"] + config["macs"])
    assert "curve25519-sha256" in config["kexalgorithms"]
    assert host.file("/etc/ssh/sshd_config").mode == 0o600


def test_firewall_is_loaded_and_matches_the_node_role(host):
    assert host.service("nftables").is_enabled
    ruleset = host.check_output("nft list table inet homelab_filter")
    assert re.search(r"hook input priority filter; policy drop;", ruleset)
    assert re.search(r"hook forward priority filter; policy drop;", ruleset)
    assert "ip saddr @admin_v4 tcp dport 22 accept" in ruleset
    assert 'iifname "tailscale0" tcp dport 22 accept' in ruleset
    assert "udp dport 41641 accept" in ruleset
    assert "ip saddr @nodes_v4 udp dport 4789 accept" in ruleset
    assert "ip saddr @pods_v4 accept" in ruleset
    node_ports = re.search(r"ip saddr @nodes_v4 tcp dport \{ ([^}]*) \} accept", ruleset).group(1)
    if control_plane(host):
        assert node_ports == "179, 2379-2380, 5473, 6443, 10250, 10257, 10259"
        assert "ip saddr @admin_v4 tcp dport 6443 accept" in ruleset
    else:
        assert node_ports == "179, 5473, 10250"
        assert "6443" not in ruleset
    # The file on disk is what is loaded at boot, and it is valid.
    assert host.run("nft --check --file /etc/nftables.conf").rc == 0


def test_kernel_parameters_keep_kubernetes_working(host):
    conf = host.file("/etc/sysctl.d/90-homelab-hardening.conf").content_string
    for line in [
        "net.ipv4.ip_forward = 1",
        "net.bridge.bridge-nf-call-iptables = 1",
        "net.ipv4.conf.all.send_redirects = 0",
        "net.ipv4.conf.all.accept_redirects = 0",
        "kernel.randomize_va_space = 2",
        "fs.suid_dumpable = 0",
        "vm.overcommit_memory = 1",
    ]:
        assert re.search(rf"^{re.escape(line)}$", conf, re.M), line


def test_unused_modules_blocked_and_kubernetes_modules_kept(host):
    conf = host.file("/etc/modprobe.d/homelab-hardening.conf").content_string
    for module in BLACKLIST + PROTOCOLS:
        # lynis recognises only /bin/true for network protocols; CIS accepts both
        form = "/bin/true" if module in [*PROTOCOLS, "dccp", "sctp", "rds", "tipc"] else "/bin/false"
        assert f"install {module} {form}" in conf
        assert f"blacklist {module}" in conf
    assert not re.search(r"^(install|blacklist) (overlay|br_netfilter)\b", conf, re.M)


def test_audit_rules_cover_the_cis_areas(host):
    assert host.service("auditd").is_enabled
    rules = host.file("/etc/audit/rules.d/50-homelab-cis.rules").content_string
    for key in [
        "identity",
        "time-change",
        "system-locale",
        "MAC-policy",
        "logins",
        "session",
        "perm_mod",
        "access",
        "privileged",
        "mounts",
        "delete",
        "scope",
        "kernel_modules",
    ]:
        assert f"-k {key}" in rules, key
    assert "-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k privileged" in rules
    assert has_line(host, "/etc/audit/rules.d/99-homelab-finalize.rules", "^-e 1$")


@pytest.mark.parametrize(
    ("path", "mode", "group"),
    [
        ("/etc/passwd", 0o644, "root"),
        ("/etc/shadow", 0o640, "shadow"),
        ("/etc/gshadow", 0o640, "shadow"),
        ("/etc/crontab", 0o600, "root"),
        ("/etc/cron.d", 0o700, "root"),
        ("/etc/cron.allow", 0o600, "root"),
    ],
)
def test_sensitive_file_permissions(host, path, mode, group):
    f = host.file(path)
    assert (f.mode, f.user, f.group) == (mode, "root", group)


def test_pam_locks_out_and_refuses_weak_or_empty_passwords(host):
    auth = host.file("/etc/pam.d/common-auth").content_string
    modules = [re.search(r"pam_\w+\.so", line).group(0) for line in auth.splitlines() if line.startswith("auth")]
    assert modules.index("pam_faillock.so") < modules.index("pam_unix.so")
    assert "nullok" not in auth + host.file("/etc/pam.d/common-password").content_string
    assert "pam_pwhistory.so remember=24" in host.file("/etc/pam.d/common-password").content_string
    assert has_line(host, "/etc/security/pwquality.conf", "^minlen = 14$")
    assert has_line(host, "/etc/security/faillock.conf", "^deny = 5$")
    assert has_line(host, "/etc/pam.d/su", "^auth +required +pam_wheel.so use_uid group=sugroup$")
    assert host.group("sugroup").exists


def test_new_accounts_get_the_password_policy(host):
    defs = host.file("/etc/login.defs").content_string
    for line in ["PASS_MAX_DAYS\t\t365", "PASS_MIN_DAYS\t\t1", "UMASK\t\t\t027", "ENCRYPT_METHOD\t\tYESCRYPT"]:
        assert line in defs
    for line in ["YESCRYPT_COST_FACTOR\t5", "SHA_CRYPT_MIN_ROUNDS\t65536", "SHA_CRYPT_MAX_ROUNDS\t65536"]:
        assert line in defs
    assert host.run("useradd --defaults").stdout.count("INACTIVE=45") == 1
    # shadow's tools read the file without complaining about unknown keywords.
    assert host.run("useradd --defaults").stderr == ""


def test_insecure_packages_absent_and_only_security_upgrades(host):
    for package in ["telnet", "rsh-client", "nis", "xinetd", "talk"]:
        assert not host.package(package).is_installed
    dump = host.check_output("apt-config dump Unattended-Upgrade")
    assert 'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security' in dump
    assert 'label=Debian";' not in dump
    assert 'Unattended-Upgrade::Package-Blacklist:: "kubelet$";' in dump
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump


def test_core_dumps_off_journal_kept_time_synchronised_banner(host):
    assert has_line(host, "/etc/security/limits.d/homelab-coredump.conf", r"^\*\thard\tcore\t0$")
    assert has_line(host, "/etc/systemd/coredump.conf", "^Storage=none$")
    assert has_line(host, "/etc/systemd/journald.conf", "^Storage=persistent$")
    assert host.service("systemd-timesyncd").is_enabled
    assert host.service("apparmor").is_enabled
    issue = host.file("/etc/issue.net").content_string
    assert issue.startswith("Authorized access only.")
    assert not re.search(r"\\[mrsv]|Debian", issue)
    assert has_line(host, "/etc/profile.d/homelab-tmout.sh", "^readonly TMOUT=900$")
    assert has_line(host, "/etc/default/grub.d/homelab-apparmor.cfg", "apparmor=1 security=apparmor")


def test_aide_watches_the_system_but_not_what_kubernetes_churns(host):
    assert host.package("aide").is_installed
    conf = host.file("/etc/aide/aide.conf.d/99_homelab_kubernetes").content_string
    for path in ["/var/lib/containerd", "/var/log/pods", "/var/lib/kubelet/pods", "/var/lib/etcd"]:
        assert f"\n!{path}\n" in conf
    assert "/usr/sbin/auditctl p+i+n+u+g+s+b+acl+xattrs+sha512" in conf
    # AIDE itself accepts the whole configuration, the drop-in included.
    check = host.run("aide --config /etc/aide/aide.conf --config-check")
    assert check.rc == 0, check.stdout + check.stderr
    assert host.service("dailyaidecheck.timer").is_enabled
    # The database is built by a oneshot unit in the background: it runs or has finished, never failed.
    state = host.run("systemctl show --property=ActiveState,Result homelab-aide-init.service").stdout
    assert re.search(r"^ActiveState=(active|activating)$", state, re.M), state
    assert "Result=success" in state


def test_lynis_suggested_tools(host):
    tools = ["needrestart", "debsums", "acct", "sysstat", "apt-show-versions", "apt-listchanges"]
    for package in tools:
        assert host.package(package).is_installed, package
    assert has_line(host, "/etc/needrestart/conf.d/homelab.conf", r"^\$nrconf\{restart\} = 'l';$")
    assert has_line(host, "/etc/default/sysstat", '^ENABLED="true"$')
    # Process accounting needs the host kernel: skipped by its container condition, not failed.
    drop_in = "/etc/systemd/system/acct.service.d/homelab-container.conf"
    assert has_line(host, drop_in, "^ConditionVirtualization=!container$")


def test_fail2ban_bans_from_sshd_journal_in_its_own_table(host):
    assert host.service("fail2ban").is_running
    jail = host.file("/etc/fail2ban/jail.local").content_string
    assert "banaction = nftables-multiport" in jail
    # Debian's sshd unit is ssh.service: the stock journalmatch (sshd.service) would never match.
    assert "journalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd" in jail
    assert re.search(r"^ignoreip = 127\.0\.0\.1/8 ::1 10\.0\.2\.0/24$", jail, re.M)
    status = host.check_output("fail2ban-client status sshd")
    assert "_SYSTEMD_UNIT=ssh.service" in status
    # fail2ban's config as fail2ban reads it: the jail is on and uses the journal.
    dump = host.check_output("fail2ban-client --dp")
    assert "['add', 'sshd', 'systemd']" in dump


def test_rkhunter_scans_daily_and_follows_apt(host):
    assert host.package("rkhunter").is_installed
    for line in ['CRON_DAILY_RUN="true"', 'APT_AUTOGEN="true"']:
        assert has_line(host, "/etc/default/rkhunter", f"^{re.escape(line)}$")
    assert host.file("/var/lib/rkhunter/db/rkhunter.dat").exists


def test_usbguard_blocks_new_devices_and_is_skipped_in_a_container(host):
    assert host.package("usbguard").is_installed
    conf = host.file("/etc/usbguard/usbguard-daemon.conf")
    assert conf.mode == 0o600
    for line in ["ImplicitPolicyTarget=block", "PresentDevicePolicy=apply-policy", "InsertedDevicePolicy=apply-policy"]:
        assert has_line(host, conf.path, f"^{line}$")
    assert host.service("usbguard").is_enabled
    drop_in = "/etc/systemd/system/usbguard.service.d/homelab-container.conf"
    assert has_line(host, drop_in, "^ConditionVirtualization=!container$")


def test_only_root_runs_the_assembler_and_upgrades_keep_it(host):
    assembler = host.check_output("readlink -f /usr/bin/as")
    assert host.file(assembler).mode == 0o750
    # dpkg-statoverride lists the mode without the leading zero.
    assert f"root root 750 {assembler}" in host.check_output("dpkg-statoverride --list").splitlines()
    assert has_line(host, "/etc/profile.d/homelab-coredump.sh", "^ulimit -c 0$")


def test_aide_records_sha512_only(host):
    # lynis FINT-4402 reads the main file; AIDE accepts it with the drop-in (config-check above).
    assert has_line(host, "/etc/aide/aide.conf", "^Checksums = sha512$")
    assert not has_line(host, "/etc/aide/aide.conf", "^Checksums = H$")
