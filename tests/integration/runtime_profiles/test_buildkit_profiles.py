"""The rootless BuildKit profiles of the container_runtime role, for real.

Role: on Debian 12 and 13 test hosts of the runners' duty (and one general node), the role writes
the Localhost seccomp profile where the kubelet resolves it and the AppArmor profile after
apparmor_parser accepted it (parse only: this kernel has no AppArmor, and in a container the role
writes profiles without loading them); a second run changes nothing, check mode writes nothing, a
bad path fails naming the value.

Seccomp: the profile's effect in podman, with the buildkitd container's settings (user 1000, every
capability dropped, no_new_privs): user and mount namespaces, mounts, pivot_root, sethostname and
setns work under the shipped profile and are refused under containerd's RuntimeDefault. A RUN step's
subordinate ids: mapped by the file-capability newuidmap with SETUID, SETGID and privilege
escalation (baseline), refused without them (restricted). Then BuildKit itself (buildkitd, buildctl
and rootlesskit of scripts/components.txt, Debian's runc) builds an image with a RUN step that way and
stops at newuidmap under no_new_privs."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from playbook_runner import ansible_playbook

REPO = Path(__file__).resolve().parents[3]
PREFIX = os.environ.get("HOMELAB_TEST_PREFIX", "") + "buildkit-profiles-"
ENV = {"CONTAINERS_CONF": str(REPO / "tests" / "podman" / "containers.conf")}
SHIPPED = REPO / "roles" / "container_runtime" / "files" / "seccomp" / "rootless-buildkit.json"
DEFAULT = REPO / ".cache" / "seccomp" / "containerd-default.json"
SECCOMP_PATH = "/var/lib/kubelet/seccomp/profiles/homelab-rootless-buildkit.json"
APPARMOR_PATH = "/etc/apparmor.d/homelab-rootless-buildkit"
# name: (image, node duty)
HOSTS = {
    "ci-12": ("localhost/homelab-debian12:latest", "ci-registry"),
    "ci-13": ("localhost/homelab-debian13:latest", "ci-registry"),
    "general": ("localhost/homelab-debian12:latest", "general"),
}
PLAYBOOK = """
- name: Rootless BuildKit profiles
  hosts: all
  gather_facts: true
  roles:
    - role: homelab.k8s.container_runtime
      vars:
        container_runtime_kernel_enabled: false
        container_runtime_swap_enabled: false
        container_runtime_containerd_enabled: false
        container_runtime_mirrors_enabled: false
        container_runtime_crictl_enabled: false
"""
# The buildkitd container's settings as podman options (user 1000, drop ALL, no privilege escalation).
POD_SETTINGS = ["--user", "1000:1000", "--cap-drop", "all", "--security-opt", "no-new-privileges"]
# What rootlesskit and BuildKit's OCI worker do, as user 1000: a user namespace with itself as root
# and a mount and UTS namespace, tmpfs and bind mounts, a hostname, pivot_root into the new root
# and the old root unmounted; then setns into a namespace of another process of the same user.
NAMESPACES = """
set -e
unshare -U -r -m -u sh -ec '
  hostname buildkit
  mount -t tmpfs tmpfs /tmp
  mount --rbind / /mnt
  mkdir /mnt/tmp/old
  cd /mnt
  pivot_root . tmp/old
  umount -l /tmp/old
  echo "$(hostname) pivoted"
'
unshare -U -r -m sleep 30 &
sleep 0.5
nsenter -t $! -U -m --preserve-credentials true
echo setns
kill $!
"""


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, env={**os.environ, **ENV}, check=check)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    names = {name: PREFIX + name for name in HOSTS}
    podman("rm", "-f", "-t", "0", *names.values(), check=False)
    try:
        for name, (image, _duty) in HOSTS.items():
            podman("run", "-d", "--name", names[name], "--systemd", "always", "--network", "slirp4netns", image)
        inventory = tmp_path_factory.mktemp("profiles") / "inventory.json"
        hostvars = {
            name: {
                "ansible_connection": "containers.podman.podman",
                "ansible_host": names[name],
                "ansible_python_interpreter": "/usr/bin/python3",
                "k8s_node_role": duty,
            }
            for name, (_image, duty) in HOSTS.items()
        }
        inventory.write_text(json.dumps({"all": {"hosts": hostvars}}))
        playbook = inventory.with_name("profiles.yml")
        playbook.write_text(PLAYBOOK)
        yield {"names": names, "inventory": inventory, "playbook": playbook}
    finally:
        podman("rm", "-f", "-t", "0", *names.values(), check=False)


def run(hosts, *args):
    return ansible_playbook(hosts["playbook"], "-i", hosts["inventory"], *args, env=ENV)


def on(hosts, name, *argv, check=False):
    return podman("exec", hosts["names"][name], *argv, check=check)


@pytest.fixture(scope="module")
def converged(hosts):
    # Check mode first, on fresh hosts: it reports what it would change and writes nothing.
    check = run(hosts, "--check")
    assert check.returncode == 0, check.output[-4000:]
    for name in ("ci-12", "ci-13"):
        assert check.recap(name)["changed"] >= 3, check.output[-4000:]
        assert on(hosts, name, "test", "-e", SECCOMP_PATH).returncode == 1
    first = run(hosts)
    assert first.returncode == 0, first.output[-6000:]
    return first


@pytest.mark.parametrize("name", ["ci-12", "ci-13"])
def test_runner_nodes_get_both_profiles(hosts, converged, name):
    seccomp = on(hosts, name, "cat", SECCOMP_PATH, check=True).stdout
    assert json.loads(seccomp) == json.loads(SHIPPED.read_text())
    mode = on(hosts, name, "stat", "-c", "%a %U", SECCOMP_PATH, APPARMOR_PATH, check=True).stdout.split("\n")
    assert mode[:2] == ["644 root", "644 root"]
    # The kernel has no AppArmor: the installed profile is checked by the parser, never loaded.
    parsed = on(hosts, name, "apparmor_parser", "--skip-kernel-load", "--skip-cache", APPARMOR_PATH)
    assert parsed.returncode == 0, parsed.stderr
    assert "skipping" in converged.task("homelab.k8s.container_runtime : Load the rootless BuildKit AppArmor profile")
    profile = on(hosts, name, "cat", APPARMOR_PATH, check=True).stdout
    assert "profile homelab-rootless-buildkit flags=(attach_disconnected,mediate_deleted) {" in profile
    assert "  deny @{PROC}/sysrq-trigger rwklx," in profile and "  pivot_root," in profile
    # AppArmor 4 (Debian 13) mediates user namespaces; the 3.0 parser of Debian 12 has no such rule.
    assert ("  userns,\n" in profile) is (name == "ci-13")


def test_other_duties_get_nothing(hosts, converged):
    assert on(hosts, "general", "test", "-e", SECCOMP_PATH).returncode == 1
    assert on(hosts, "general", "test", "-e", APPARMOR_PATH).returncode == 1
    assert converged.recap("general")["changed"] == 0


def test_a_second_run_changes_nothing(hosts, converged):
    again = run(hosts)
    assert again.returncode == 0, again.output[-4000:]
    for name in HOSTS:
        assert again.recap(name)["changed"] == 0, again.output[-4000:]


@pytest.mark.parametrize("profile", ["/etc/seccomp/buildkit.json", "../../../etc/buildkit.json", "profiles/buildkit"])
def test_a_seccomp_profile_outside_the_kubelet_directory_fails_naming_it(hosts, converged, profile):
    bad = run(hosts, "--limit", "ci-12", "-e", f"homelab_buildkit_seccomp_profile={profile}")
    assert bad.returncode != 0
    assert f'homelab_buildkit_seccomp_profile="{profile}" must be the relative path of a .json' in " ".join(
        bad.output.split()
    )
    assert on(hosts, "ci-12", "test", "-e", "/etc/seccomp").returncode == 1
    assert on(hosts, "ci-12", "test", "-e", "/etc/buildkit.json").returncode == 1


def test_a_bad_apparmor_profile_name_fails_naming_it(hosts, converged):
    bad = run(hosts, "--limit", "ci-12", "-e", "homelab_buildkit_apparmor_profile=../Buildkit")
    assert bad.returncode != 0
    assert 'homelab_buildkit_apparmor_profile="../Buildkit" a profile name' in " ".join(bad.output.split())
    assert on(hosts, "ci-12", "test", "-e", "/etc/Buildkit").returncode == 1


@pytest.mark.parametrize(("profile", "works"), [(SHIPPED, True), (DEFAULT, False)], ids=["shipped", "runtime-default"])
def test_namespaces_under_the_seccomp_profile(profile, works):
    if not profile.exists():
        pytest.fail(f"{profile} is missing: run scripts/seccomp-default.sh (make setup does)")
    done = podman(
        "run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}", *POD_SETTINGS,
        HOSTS["ci-12"][0], "sh", "-c", NAMESPACES, check=False,
    )  # fmt: skip
    if works:
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["buildkit", "pivoted", "setns"], done.stdout
    else:
        assert done.returncode != 0
        assert "unshare failed: Operation not permitted" in done.stderr, done.stderr


@pytest.fixture(scope="module")
def uidmap_image(hosts, converged):
    """A runner node with Debian's runc, user 1000, its subordinate ids and uidmap: newuidmap and newgidmap
    setuid root in /usr/bin as Debian ships them, and copies with the file capabilities SETUID and
    SETGID in /usr/local/bin, first in PATH, as BuildKit's rootless image installs them."""
    setup = "apt-get install -y --no-install-recommends uidmap runc && useradd -u 1000 -m user && "
    setup += "echo user:100000:65536 >/etc/subuid && echo user:100000:65536 >/etc/subgid && "
    setup += "install -m 0755 /usr/bin/newuidmap /usr/bin/newgidmap /usr/local/bin/ && "
    setup += "setcap cap_setuid=ep /usr/local/bin/newuidmap && setcap cap_setgid=ep /usr/local/bin/newgidmap"
    done = on(hosts, "ci-12", "sh", "-c", setup)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    image = "localhost/" + PREFIX + "uidmap"
    podman("commit", "-q", hosts["names"]["ci-12"], image)
    yield image
    podman("rmi", "-f", image, check=False)


# What a RUN step of rootless BuildKit needs: rootlesskit maps user 1000 to root and its subordinate
# ids to the rest with newuidmap and newgidmap, then the step's devpts is mounted with group 5.
MAP_AND_DEVPTS = """
unshare -U -m --map-auto --map-root-user sh -ec '
  cat /proc/self/uid_map /proc/self/gid_map
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /mnt
  grep " /mnt devpts " /proc/self/mounts | grep -o "gid=[0-9]*"
'
"""
# /proc/self/mounts shows the devpts group as seen from outside: group 5 is subordinate gid 100004.
MAPPED = ["0", "1000", "1", "1", "100000", "65535"] * 2 + ["gid=100004"]
# The kubelet's container for user 1000 under containerd: the added capabilities in the bounding set
# only (none permitted or ambient after the exec), no_new_privs unless privilege escalation is
# allowed. podman would make added capabilities ambient for a non-root user, so the container
# starts as root with the capabilities and setpriv becomes user 1000 with the permitted set cleared.
SIDECARS = {
    # name: (added capabilities, no_new_privs, PATH, expected error or None)
    "baseline-setuid-setgid": (["SETUID", "SETGID"], False, "/usr/local/bin:/usr/bin:/bin", None),
    "no-new-privs": (["SETUID", "SETGID"], True, "/usr/local/bin:/usr/bin:/bin", "write to uid_map failed"),
    "setuid-root-newuidmap": (["SETUID", "SETGID"], False, "/usr/bin:/bin", "open of uid_map failed"),
    "restricted-drop-all": ([], True, "/usr/local/bin:/usr/bin:/bin", "failed to execute newuidmap"),
}


@pytest.mark.parametrize("sidecar", sorted(SIDECARS))
def test_a_run_step_maps_the_subordinate_ids_only_with_setuid_setgid_and_escalation(uidmap_image, sidecar):
    """With SETUID and SETGID in the bounding set and privilege escalation allowed (Pod Security
    baseline), the file-capability newuidmap maps the range and group 5 exists for devpts. With
    no_new_privs the file capabilities are ignored; the setuid-root newuidmap runs as root, which
    lacks CAP_DAC_OVERRIDE to open user 1000's uid_map (and CAP_SYS_ADMIN over the new namespace to
    write it); with every capability dropped (restricted) nothing maps more than user 1000 itself."""
    caps, no_new_privs, path, error = SIDECARS[sidecar]
    if caps:
        user = ["--user", "0", "--cap-drop", "all", "--cap-add", ",".join(caps)]
        argv = ["setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups"]
        argv += ["--no-new-privs"] if no_new_privs else []
    else:
        user, argv = POD_SETTINGS, []
    done = podman(
        "run", "--rm", "--network", "none", "--security-opt", f"seccomp={SHIPPED}", "--env", f"PATH={path}", *user,
        uidmap_image, *argv, "sh", "-c", MAP_AND_DEVPTS, check=False,
    )  # fmt: skip
    if error is None:
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == MAPPED, done.stdout
    else:
        assert done.returncode != 0, done.stdout
        assert error in done.stderr, done.stderr
        assert "gid=" not in done.stdout, done.stdout


# The runners' sidecar by hand (its socket in /run/buildkit, the pod's emptyDir): rootlesskit maps the
# ids and starts buildkitd; buildctl builds an image whose RUN step (the static age-keygen of the
# components) writes a file, exported to a directory.
BUILD = """
export HOME=/home/user XDG_RUNTIME_DIR=/tmp/run
mkdir -p /tmp/run
rootlesskit buildkitd --rootless --root /tmp/buildkit --addr unix:///run/buildkit/buildkitd.sock \\
  --oci-worker-no-process-sandbox >/tmp/buildkitd.log 2>&1 &
for _ in $(seq 60); do [ -S /run/buildkit/buildkitd.sock ] || ! kill -0 $! 2>/dev/null && break; sleep 0.5; done
buildctl --addr unix:///run/buildkit/buildkitd.sock build --progress plain --frontend dockerfile.v0 \\
  --local context=/context --local dockerfile=/context --output type=local,dest=/tmp/out 2>/tmp/build.log || {
  tail -n 12 /tmp/build.log >&2
  grep -v -e "^[[:space:]]" -e "^time=" /tmp/buildkitd.log | head -n 4 >&2
  exit 1
}
grep -o AGE-SECRET-KEY- /tmp/out/key.txt
"""
DOCKERFILE = """FROM scratch
COPY age-keygen /bin/age-keygen
RUN ["/bin/age-keygen", "-o", "/key.txt"]
"""


@pytest.mark.parametrize("no_new_privs", [False, True], ids=["baseline", "no-new-privs"])
def test_buildkit_builds_a_run_step_with_setuid_setgid_and_escalation(uidmap_image, tmp_path, no_new_privs):
    """BuildKit itself (scripts/components.txt), as the sidecar runs it: user 1000, SETUID and SETGID
    in the bounding set, the shipped seccomp profile. The RUN step runs with escalation allowed; with
    no_new_privs rootlesskit stops at newuidmap."""
    mounts = []
    for name in ("buildkitd", "buildctl", "rootlesskit", "age-keygen"):
        path = REPO / ".cache" / "bin" / name
        if not path.exists():
            pytest.fail(f"{path} is missing: build it with `scripts/components.sh {name}` (make setup does)")
        mounts += ["-v", f"{path.resolve()}:/opt/components/{name}:ro"]
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / "age-keygen").write_bytes((REPO / ".cache" / "bin" / "age-keygen").read_bytes())
    (context / "age-keygen").chmod(0o755)
    argv = ["setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups"]
    argv += ["--no-new-privs"] if no_new_privs else []
    done = podman(
        "run", "--rm", "--network", "none", "--security-opt", f"seccomp={SHIPPED}", *mounts,
        "-v", f"{context}:/context:ro", "--tmpfs", "/run/buildkit:mode=0777",
        "--env", "PATH=/opt/components:/usr/local/bin:/usr/bin:/bin",
        "--user", "0", "--cap-drop", "all", "--cap-add", "SETUID,SETGID",
        uidmap_image, *argv, "sh", "-c", BUILD, check=False,
    )  # fmt: skip
    if no_new_privs:
        assert done.returncode != 0, done.stdout
        assert "newuidmap" in done.stderr and "write to uid_map failed" in done.stderr, done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["AGE-SECRET-KEY-"], done.stdout
