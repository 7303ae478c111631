# Copyright: homelab.k8s maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prove an encrypted etcd snapshot restores, in a scratch etcd (the etcd_backup role's verify step).

Checks the SHA-256 of an age-encrypted snapshot, decrypts it with an age identity file, checks the
SHA-256 of the plain snapshot, restores it with `etcdutl snapshot restore` (which also checks the
hash etcd appended to the snapshot) into a temporary data directory, starts a scratch etcd on it
(loopback only, free ports) and reads its revision and key count. The decrypted snapshot, the data
directory and the scratch etcd are removed at the end, also on failure. The identity file is read
by age only.

Prints one JSON object: revision, key_count, snapshot (etcdutl snapshot status), size, seconds;
or {"failed": true, "msg": ...} and exits 1.
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


class VerifyError(Exception):
    pass


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def free_port():
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def run(argv, what, timeout=600):
    try:
        # argv is a list of the configured commands and files: no shell.
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except OSError as error:
        raise VerifyError("%s: cannot run %s: %s" % (what, argv[0], error)) from error
    except subprocess.TimeoutExpired as error:
        raise VerifyError("%s: %s did not finish within %s s" % (what, argv[0], timeout)) from error
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise VerifyError("%s failed (exit %d): %s" % (what, done.returncode, output))
    return done.stdout


def scratch_etcd(params, data_dir, peer_url, log_path):
    """Start etcd on the restored data directory; answer (process, client URL)."""
    client_url = "http://127.0.0.1:%d" % free_port()
    argv = [
        params["etcd"],
        "--name=scratch",
        "--data-dir=" + data_dir,
        "--listen-client-urls=" + client_url,
        "--advertise-client-urls=" + client_url,
        "--listen-peer-urls=" + peer_url,
        "--initial-advertise-peer-urls=" + peer_url,
        "--initial-cluster=scratch=" + peer_url,
        "--listen-metrics-urls=",
    ]
    with open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - a list, no shell
        except OSError as error:
            raise VerifyError("scratch etcd: cannot run %s: %s" % (params["etcd"], error)) from error
    return process, client_url


def read_status(params, client_url, process, log_path):
    """Revision and key count of the scratch etcd, once it answers."""
    base = [params["etcdctl"], "--endpoints=" + client_url, "--command-timeout=5s", "-w", "json"]
    deadline = time.time() + params["timeout"]
    last = ""
    while time.time() < deadline:
        if process.poll() is not None:
            with open(log_path) as log:
                raise VerifyError("scratch etcd exited (%s): %s" % (process.returncode, log.read()[-2000:]))
        done = subprocess.run([*base, "endpoint", "status"], capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode == 0:
            status = json.loads(done.stdout)[0]["Status"]
            keys = json.loads(run([*base, "get", "", "--prefix", "--keys-only", "--limit=1"], "count keys"))
            return int(status["header"]["revision"]), int(keys.get("count", 0))
        last = done.stderr.strip()
        time.sleep(0.2)
    raise VerifyError("scratch etcd did not answer within %s s: %s" % (params["timeout"], last))


def verify(params):
    seconds = {}
    started = time.time()
    backup = params["backup"]
    if not os.path.isfile(backup):
        raise VerifyError("backup %s does not exist" % backup)
    if not os.path.isfile(params["identity_file"]):
        raise VerifyError("identity_file %s does not exist" % params["identity_file"])
    size = os.path.getsize(backup)
    actual = sha256_of(backup)
    if actual != params["sha256"].lower():
        raise VerifyError(
            "backup %s is corrupt or truncated: sha256 %s, expected %s (%d bytes)"
            % (backup, actual, params["sha256"], size)
        )
    work = tempfile.mkdtemp(prefix="etcd-verify-", dir=params["work_dir"])
    process = None
    try:
        os.chmod(work, 0o700)
        plain = os.path.join(work, "snapshot.db")
        step = time.time()
        run([params["age"], "--decrypt", "-i", params["identity_file"], "-o", plain, backup], "decrypt " + backup)
        seconds["decrypt"] = round(time.time() - step, 3)
        plain_actual = sha256_of(plain)
        if plain_actual != params["plain_sha256"].lower():
            raise VerifyError(
                "decrypted snapshot of %s differs from the one taken: sha256 %s, expected %s"
                % (backup, plain_actual, params["plain_sha256"])
            )
        snapshot = json.loads(run([params["etcdutl"], "snapshot", "status", "-w", "json", plain], "snapshot status"))
        step = time.time()
        data_dir = os.path.join(work, "data")
        peer_url = "http://127.0.0.1:%d" % free_port()
        run(
            [
                params["etcdutl"],
                "snapshot",
                "restore",
                plain,
                "--data-dir=" + data_dir,
                "--name=scratch",
                "--initial-cluster=scratch=" + peer_url,
                "--initial-advertise-peer-urls=" + peer_url,
            ],
            "restore " + backup,
        )
        os.unlink(plain)
        seconds["restore"] = round(time.time() - step, 3)
        step = time.time()
        log_path = os.path.join(work, "etcd.log")
        process, client_url = scratch_etcd(params, data_dir, peer_url, log_path)
        revision, key_count = read_status(params, client_url, process, log_path)
        seconds["scratch_etcd"] = round(time.time() - step, 3)
        if revision != int(snapshot["revision"]):
            raise VerifyError("restored revision %d differs from the snapshot's %s" % (revision, snapshot["revision"]))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
    seconds["total"] = round(time.time() - started, 3)
    return {"revision": revision, "key_count": key_count, "snapshot": snapshot, "size": size, "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backup", required=True)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--plain-sha256", dest="plain_sha256", required=True)
    parser.add_argument("--identity-file", dest="identity_file", required=True)
    parser.add_argument("--age", default="age")
    parser.add_argument("--etcd", default="etcd")
    parser.add_argument("--etcdutl", default="etcdutl")
    parser.add_argument("--etcdctl", default="etcdctl")
    parser.add_argument("--work-dir", dest="work_dir")
    parser.add_argument("--timeout", type=int, default=60)
    params = vars(parser.parse_args(argv))
    try:
        for option in ("sha256", "plain_sha256"):
            value = params[option]
            if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
                raise VerifyError("%s must be 64 hexadecimal digits, got %r" % (option, value))
        if params["timeout"] < 1:
            raise VerifyError("timeout must be at least 1 second, got %d" % params["timeout"])
        result = verify(params)
    except VerifyError as error:
        print(json.dumps({"failed": True, "msg": str(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
