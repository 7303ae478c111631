"""sshd_config read from files (cis/sshd.py through Host.sshd) against the real `sshd -T` on the same tree.

Each case is written to a tree's etc/ssh; the real sshd of Debian's openssh-server
(scripts/host-packages.sh installs it) runs `sshd -T -C user=root,host=localhost,addr=127.0.0.1`
in a private mount namespace where that etc/ssh is bind-mounted on /etc/ssh (and a tmpfs on
/run holds its privilege separation directory), so relative Includes resolve as on a host and
nothing on this machine changes. The file reader must print what sshd prints for every setting
it knows, and refuse what sshd refuses.
"""

import os
import shutil
import subprocess

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import sshd
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

SSHD = "/usr/sbin/sshd"
SPEC = "user=root,host=localhost,addr=127.0.0.1"
NAMESPACE = 'mount --bind "$0" /etc/ssh && mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec %s -T -C %s' % (
    SSHD,
    SPEC,
)

CASES = {
    # the misjudged inputs of issue 18: `=` separators and upper-case values
    "equals_separator": "PermitEmptyPasswords=yes\nHostbasedAuthentication=yes\nIgnoreRhosts=no\n"
    "PermitUserEnvironment=yes\n",
    "value_case": "PermitRootLogin No\nX11Forwarding Yes\nUsePAM YES\nLogLevel verbose\n",
    "spacing": "  \tPermitRootLogin\t=\tno\nMaxAuthTries =3\nMaxSessions= 4\nclientalivecountmax = 2\n",
    "keyword_case": "PERMITEMPTYPASSWORDS yes\nignorerhosts no\nMaxAuthTRIES 2\n",
    "first_value_wins": "PermitRootLogin no\nPermitRootLogin yes\nMaxAuthTries 3\nMaxAuthTries 8\n",
    "include_first": "Include sshd_config.d/*.conf\nPermitRootLogin yes\nMaxAuthTries 9\n",
    "include_after": "PermitRootLogin yes\nInclude /etc/ssh/sshd_config.d/*.conf\n",
    "match_user_overrides_global": "PermitRootLogin no\nMaxAuthTries 3\nMatch User root\n  PermitRootLogin yes\n"
    "Match Address 127.0.0.0/8\n  MaxAuthTries 5\n",
    "match_not_matching": "Match User admin\n  PermitRootLogin yes\nMatch Address 10.0.0.0/8,192.168.0.0/16\n"
    "  MaxAuthTries 1\nMatch LocalAddress 1.2.3.4\n  MaxSessions 1\n",
    "match_negation_and_host": "Match User !root,*\n  MaxSessions 1\nMatch Host LOCAL*\n  X11Forwarding yes\n"
    "Match Group root\n  MaxAuthTries 2\n",
    "match_all_ends_block": "Match User nobody\n  MaxAuthTries 1\nMatch all\nPermitRootLogin no\n",
    "match_scope_ends_with_included_file": "Include sshd_config.d/*.conf\nPermitRootLogin yes\n",
    "times_and_numbers": "LoginGraceTime 1h1m\nClientAliveInterval 5M\nMaxStartups 5\nCompression delayed\n"
    "AllowTcpForwarding all\n",
    "algorithm_lists": "Ciphers +aes128-cbc\nMACs -umac*,hmac-sha1*\nKexAlgorithms ^diffie-hellman-group14-sha1\n",
    "quotes_and_comments": 'Banner "/etc/issue net" # trailing\nPermitRootLogin prohibit-password # x\n',
    "hash_inside_a_word": "Banner /etc/is#sue\n",
    "access_lists_accumulate": "AllowUsers alice bob\nallowusers carol\nDenyGroups games\n",
    "challenge_response_alias": "ChallengeResponseAuthentication no\n",
}
DROPINS = {
    "include_first": {"10-hardening.conf": "PermitRootLogin=no\nMaxAuthTries 4\n"},
    "include_after": {"50-cloud.conf": "PermitRootLogin no\n"},
    "match_scope_ends_with_included_file": {
        "10-match.conf": "Match User root\n  MaxAuthTries 1\n",
        "20-global.conf": "PermitRootLogin no\nMaxAuthTries 3\n",
    },
}
REFUSED = {
    "unknown_flag_word": "PermitRootLogin maybe\n",
    "extra_argument": "PermitRootLogin no yes\n",
    "double_equals": "MaxSessions==4\n",
    "no_argument": "PermitRootLogin\n",
    "bad_time": "LoginGraceTime soon\n",
}


@pytest.fixture(scope="session")
def host_key(tmp_path_factory):
    if not os.access(SSHD, os.X_OK):
        pytest.fail("the real sshd is needed: install openssh-server (scripts/host-packages.sh)")
    key = tmp_path_factory.mktemp("sshd-key") / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def tree(tmp_path, host_key, config, dropins=None):
    etc_ssh = tmp_path / "etc" / "ssh"
    (etc_ssh / "sshd_config.d").mkdir(parents=True)
    shutil.copy(host_key, etc_ssh / host_key.name)
    (etc_ssh / host_key.name).chmod(0o600)
    (etc_ssh / "sshd_config").write_text(config)
    for name, text in (dropins or {}).items():
        (etc_ssh / "sshd_config.d" / name).write_text(text)
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\ngames:x:60:\n")
    return tmp_path


def real_sshd_t(root):
    """`sshd -T` of the real sshd with root/etc/ssh as its /etc/ssh: (rc, stdout, stderr)."""
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE, str(root / "etc" / "ssh")],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_file_reader_agrees_with_real_sshd(tmp_path, host_key, case):
    root = tree(tmp_path, host_key, CASES[case], DROPINS.get(case))
    rc, out, err = real_sshd_t(root)
    assert rc == 0, err
    real = sshd.from_sshd_t(out)
    ours = Host(str(root)).sshd()
    keys = [key for key in sorted(set(sshd.DEFAULTS) | set(sshd.ACCUMULATE)) if key in real or key in ours]
    assert {key: ours.get(key) for key in keys} == {key: real.get(key) for key in keys}


def test_debian_stock_config_agrees_with_real_sshd(tmp_path, host_key):
    stock = "/usr/share/openssh/sshd_config"
    if not os.path.exists(stock):
        pytest.fail("openssh-server's stock %s is missing" % stock)
    with open(stock) as handle:
        root = tree(tmp_path, host_key, handle.read(), {"50-site.conf": "PermitRootLogin no\nMaxAuthTries 4\n"})
    rc, out, err = real_sshd_t(root)
    assert rc == 0, err
    real, ours = sshd.from_sshd_t(out), Host(str(root)).sshd()
    assert {key: ours[key] for key in sshd.DEFAULTS} == {key: real[key] for key in sshd.DEFAULTS}
    assert ours["usepam"] == "yes" and ours["permitrootlogin"] == "no"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_sshd_refuses_cannot_be_audited(tmp_path, host_key, case):
    root = tree(tmp_path, host_key, REFUSED[case])
    rc, _out, err = real_sshd_t(root)
    assert rc != 0 and err
    with pytest.raises(ValueError, match="sshd_config line 1"):
        Host(str(root)).sshd()


def test_issue_inputs_judged_as_sshd_applies_them(controls, tmp_path, host_key):
    """The four `Key=value` settings FAIL and `PermitRootLogin No` PASSes, as under the real sshd."""
    from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine

    root = tree(tmp_path, host_key, CASES["equals_separator"] + "PermitRootLogin No\n")
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("Package: openssh-server\nStatus: install ok installed\nVersion: 1\n")
    wanted = {"5.1.10", "5.1.11", "5.1.19", "5.1.20", "5.1.21"}
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] in wanted]
    statuses = {r["id"]: r["status"] for r in engine.run(chosen, Host(str(root)), ["debian_linux"])["results"]}
    assert statuses == {"5.1.10": "FAIL", "5.1.11": "FAIL", "5.1.19": "FAIL", "5.1.20": "PASS", "5.1.21": "FAIL"}


def test_tokeniser():
    assert sshd.split_line("Key=value") == ("Key", ["value"])
    assert sshd.split_line('  Key = a \'b c\' "d\\"e" #f g') == ("Key", ["a", "b c", 'd"e'])
    assert sshd.split_line("# comment") is None
    assert sshd.split_line("   ") is None
    with pytest.raises(ValueError, match="unterminated"):
        sshd.split_line('Banner "/etc/issue')


def test_live_host_reads_sshd_t_and_accumulates_lists(tmp_path):
    (tmp_path / "etc/ssh").mkdir(parents=True)
    (tmp_path / "etc/ssh/sshd_config").write_text("AllowUsers a\n")
    (tmp_path / "sshd").write_text("")
    (tmp_path / "sshd").chmod(0o755)
    output = "allowusers a\nallowusers b\npermitrootlogin no\n"
    host = Host(str(tmp_path), run_command=lambda argv: (0, output, ""))
    host.live, host.BIN_DIRS = True, (str(tmp_path),)
    assert host.sshd() == {"allowusers": "a b", "permitrootlogin": "no"}
