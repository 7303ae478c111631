# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Effective sshd settings read from sshd_config the way OpenSSH's sshd reads it.

Used where `sshd -T` cannot run (a `root` tree, sshd not installed on the auditing host, a
missing privilege separation directory). It follows OpenSSH 9.x (servconf.c, misc.c):

- a line is a keyword and its arguments; the keyword ends at whitespace or at one `=`
  (`Key value`, `Key=value`, `Key = value`); keywords are case-insensitive;
- arguments are split like argv_split(): double or single quotes group, a `#` that starts an
  argument ends the line;
- the first value of a keyword wins; AllowUsers/AllowGroups/DenyUsers/DenyGroups accumulate;
- `Include` globs (relative to /etc/ssh) are read in name order, in place; a `Match` block
  ends at the next `Match` or at the end of the file it is in;
- effective settings are those `sshd -T -C user=root,host=localhost,addr=127.0.0.1` prints:
  the first value from a Match block that matches that connection, else the first global
  value, else the compiled-in default; values are printed as sshd prints them (yes/no lower
  case, prohibit-password as without-password, times in seconds, LogLevel upper case, ...);
- values sshd rejects (an unknown flag word, extra arguments, a bad number) raise ValueError,
  since sshd would refuse to start with them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SSH_DIR = "/etc/ssh/"
CONNECTION = {"user": "root", "host": "localhost", "addr": "127.0.0.1"}
WHITESPACE = " \t\r\n"
# `sshd -T -f /dev/null` of Debian 12's openssh-server 1:9.2p1 for the settings read here.
DEFAULTS = {
    "allowagentforwarding": "yes",
    "allowstreamlocalforwarding": "yes",
    "allowtcpforwarding": "yes",
    "banner": "none",
    "ciphers": "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
    "aes256-gcm@openssh.com",
    "clientalivecountmax": "3",
    "clientaliveinterval": "0",
    "compression": "yes",
    "disableforwarding": "no",
    "gatewayports": "no",
    "gssapiauthentication": "no",
    "hostbasedauthentication": "no",
    "ignorerhosts": "yes",
    "ignoreuserknownhosts": "no",
    "kbdinteractiveauthentication": "yes",
    "kerberosauthentication": "no",
    "kexalgorithms": "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
    "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256",
    "logingracetime": "120",
    "loglevel": "INFO",
    "macs": "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    "maxauthtries": "6",
    "maxsessions": "10",
    "maxstartups": "10:30:100",
    "passwordauthentication": "yes",
    "permitemptypasswords": "no",
    "permitrootlogin": "without-password",
    "permittty": "yes",
    "permittunnel": "no",
    "permituserenvironment": "no",
    "permituserrc": "yes",
    "printlastlog": "yes",
    "printmotd": "yes",
    "pubkeyauthentication": "yes",
    "strictmodes": "yes",
    "tcpkeepalive": "yes",
    "usedns": "no",
    "usepam": "no",
    "x11forwarding": "no",
    "x11uselocalhost": "yes",
}
_YES_NO = {"yes": "yes", "no": "no"}
# keyword -> accepted words (case-insensitive) -> the word sshd -T prints
CHOICES = {
    "permitrootlogin": {
        "yes": "yes",
        "prohibit-password": "without-password",
        "without-password": "without-password",
        "forced-commands-only": "forced-commands-only",
        "no": "no",
    },
    "allowtcpforwarding": {"yes": "yes", "all": "yes", "no": "no", "local": "local", "remote": "remote"},
    "allowstreamlocalforwarding": {"yes": "yes", "all": "yes", "no": "no", "local": "local", "remote": "remote"},
    "compression": {"yes": "yes", "delayed": "yes", "no": "no"},
    "gatewayports": {"yes": "yes", "no": "no", "clientspecified": "clientspecified"},
    "permittunnel": {"yes": "yes", "point-to-point": "point-to-point", "ethernet": "ethernet", "no": "no"},
}
FLAGS = (
    "allowagentforwarding",
    "disableforwarding",
    "gssapiauthentication",
    "hostbasedauthentication",
    "ignorerhosts",
    "ignoreuserknownhosts",
    "kbdinteractiveauthentication",
    "kerberosauthentication",
    "passwordauthentication",
    "permitemptypasswords",
    "permittty",
    "permituserrc",
    "printlastlog",
    "printmotd",
    "pubkeyauthentication",
    "strictmodes",
    "tcpkeepalive",
    "usedns",
    "usepam",
    "x11forwarding",
    "x11uselocalhost",
)
for _flag in FLAGS:
    CHOICES[_flag] = _YES_NO
ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}
INTEGERS = ("maxauthtries", "maxsessions", "clientalivecountmax")
TIMES = ("logingracetime", "clientaliveinterval")
ALGORITHM_LISTS = ("ciphers", "macs", "kexalgorithms")
ACCUMULATE = ("allowusers", "allowgroups", "denyusers", "denygroups")
LOG_LEVELS = {
    "quiet": "QUIET",
    "fatal": "FATAL",
    "error": "ERROR",
    "info": "INFO",
    "verbose": "VERBOSE",
    "debug": "DEBUG",
    "debug1": "DEBUG",
    "debug2": "DEBUG2",
    "debug3": "DEBUG3",
}
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_INCLUDE_DEPTH = 16


def split_line(line):
    """(keyword, [arguments]) of one config line, or None for a blank or comment line."""
    text = line.lstrip(WHITESPACE)
    if not text or text[0] == "#":
        return None
    end = 0
    while end < len(text) and text[end] not in WHITESPACE + "=":
        end += 1
    keyword, rest = text[:end], text[end:].lstrip(WHITESPACE)
    if rest.startswith("="):
        rest = rest[1:].lstrip(WHITESPACE)
    return keyword, split_args(rest)


def split_args(text):
    """argv_split() with comments: quotes group words, a word starting with `#` ends the line."""
    args, index, size = [], 0, len(text)
    while index < size:
        if text[index] in WHITESPACE:
            index += 1
            continue
        if text[index] == "#":
            break
        word, quote = [], None
        while index < size:
            char = text[index]
            if quote is None and char in WHITESPACE:
                break
            escaped = index + 1 < size and (text[index + 1] in "'\"\\" or (quote is None and text[index + 1] == " "))
            if char == "\\" and escaped:
                index += 1
                word.append(text[index])
            elif quote is None and char in "'\"":
                quote = char
            elif char == quote:
                quote = None
            else:
                word.append(char)
            index += 1
        if quote is not None:
            raise ValueError("unterminated quote in %r" % text)
        args.append("".join(word))
    return args


def seconds(value):
    """convtime(): `90`, `1m30s`, `2h` -> seconds as text; ValueError otherwise."""
    if not re.match(r"^(\d+[sSmMhHdDwW]?)+$", value):
        raise ValueError("invalid time value %r" % value)
    return str(sum(int(n) * _TIME_UNITS[u.lower()] for n, u in re.findall(r"(\d+)([a-zA-Z]?)", value)))


def wildcard(value, pattern):
    """match_pattern(): `*` and `?` are the only wildcards."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.match("^%s$" % regex, value, re.DOTALL) is not None


def pattern_match(values, patterns, ignore_case=False):
    """match_pattern_list() over one or more values: False when a negated (`!`) pattern matches any,
    else True when a pattern matches one."""
    found = False
    for value in values:
        value = value.lower() if ignore_case else value
        for pattern in patterns.split(","):
            negated = pattern.startswith("!")
            pattern = pattern[1:] if negated else pattern
            if wildcard(value, pattern.lower() if ignore_case else pattern):
                if negated:
                    return False
                found = True
    return found


def address_match(address, patterns):
    """addr_match_list(): CIDR blocks or wildcard patterns, `!` negates."""
    import ipaddress  # only sshd_config with Match Address needs it: keep the module's start fast

    found = False
    addr = ipaddress.ip_address(address)
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        if "/" in pattern:
            try:
                network = ipaddress.ip_network(pattern, strict=False)
            except ValueError:
                raise ValueError("invalid address list entry %r" % pattern) from None
            hit = addr.version == network.version and addr in network
        else:
            hit = wildcard(address, pattern)
        if hit:
            if negated:
                return False
            found = True
    return found


def match_line(args, connection, groups):
    """Whether a `Match` line's criteria all hold for the connection (sshd -T -C semantics)."""
    if not args:
        raise ValueError("Match needs criteria")
    if args[0].lower() == "all":
        if len(args) > 1:
            raise ValueError("'all' cannot be combined with other Match attributes")
        return True
    if len(args) % 2:
        raise ValueError("Match %s: missing value" % " ".join(args))
    result = True
    for pair in range(0, len(args), 2):
        attrib, value = args[pair].lower(), args[pair + 1]
        if attrib == "user":
            hit = pattern_match([connection["user"]], value)
        elif attrib == "group":
            hit = pattern_match(groups, value)
        elif attrib == "host":
            hit = pattern_match([connection["host"]], value, ignore_case=True)
        elif attrib == "address":
            hit = address_match(connection["addr"], value)
        elif attrib in ("localaddress", "localport", "rdomain"):
            hit = False  # not part of the connection tested
        else:
            raise ValueError("unsupported Match attribute %s" % attrib)
        result = result and hit
    return result


class Config:
    """Parse an sshd_config tree with `read(path) -> text` and `glob(pattern) -> sorted paths`."""

    def __init__(self, read, glob, groups=("root",), connection=None):
        self.read, self.glob = read, glob
        self.groups = tuple(groups)
        self.connection = dict(CONNECTION, **(connection or {}))
        self.entries = []  # (keyword, args, where, state): state None global, True/False a Match block

    def parse(self, path, depth=0, state=None):
        if depth > MAX_INCLUDE_DEPTH:
            raise ValueError("Include nested too deeply at %s" % path)
        block = state
        for number, line in enumerate(self.read(path).splitlines(), 1):
            where = "%s line %d" % (path, number)
            try:
                words = split_line(line)
            except ValueError as exc:
                raise ValueError("%s: %s" % (where, exc)) from None
            if words is None:
                continue
            keyword, args = words[0].lower(), words[1]
            if not args:
                raise ValueError('%s: no argument after keyword "%s"' % (where, words[0]))
            if keyword == "match":
                if state is False:
                    block = False
                    continue
                try:
                    block = match_line(args, self.connection, self.groups)
                except ValueError as exc:
                    raise ValueError("%s: %s" % (where, exc)) from None
            elif keyword == "include":
                for pattern in args:
                    pattern = pattern if pattern.startswith("/") else SSH_DIR + pattern
                    for included in self.glob(pattern):
                        self.parse(included, depth + 1, block)
            else:
                self.entries.append((ALIASES.get(keyword, keyword), args, where, block))
        return self

    def settings(self):
        """Effective settings as `sshd -T` prints them (lower-case keys)."""
        chosen, lists = {}, {}
        for keyword, args, where, state in self.entries:
            if state is False:
                continue
            rank = 0 if state else 1  # a matching Match block beats a global line
            if keyword in ACCUMULATE:
                lists.setdefault(keyword, {}).setdefault(rank, []).extend(args)
                continue
            if keyword not in chosen or rank < chosen[keyword][0]:
                chosen[keyword] = (rank, args, where)
        result = dict(DEFAULTS)
        for keyword, (_rank, args, where) in chosen.items():
            try:
                result[keyword] = normalise(keyword, args)
            except ValueError as exc:
                raise ValueError("%s: %s %s: %s" % (where, keyword, " ".join(args), exc)) from None
        for keyword, ranks in lists.items():
            result[keyword] = " ".join(ranks[min(ranks)])
        return result


def normalise(keyword, args):
    """The value `sshd -T` prints for a keyword set to `args`."""
    single = keyword in CHOICES or keyword in INTEGERS or keyword in TIMES or keyword in ALGORITHM_LISTS
    single = single or keyword in ("loglevel", "maxstartups", "banner", "permituserenvironment")
    if single and len(args) > 1:
        raise ValueError("extra arguments at end of line")
    value = args[0]
    if keyword in CHOICES:
        try:
            return CHOICES[keyword][value.lower()]
        except KeyError:
            raise ValueError('unsupported option "%s"' % value) from None
    if keyword in INTEGERS:
        if not re.match(r"^-?\d+$", value):
            raise ValueError("integer value invalid")
        return str(int(value))
    if keyword in TIMES:
        return seconds(value)
    if keyword == "loglevel":
        try:
            return LOG_LEVELS[value.lower()]
        except KeyError:
            raise ValueError("unsupported log level %r" % value) from None
    if keyword == "maxstartups":
        numbers = value.split(":")
        if len(numbers) not in (1, 3) or not all(n.isdigit() for n in numbers):
            raise ValueError("invalid MaxStartups value")
        return value if len(numbers) == 3 else "%s:30:%s" % (value, value)
    if keyword == "permituserenvironment":
        return value.lower() if value.lower() in _YES_NO else value
    if keyword in ALGORITHM_LISTS:
        return algorithms(DEFAULTS[keyword], value)
    return " ".join(args)


def algorithms(default, value):
    """Ciphers/MACs/KexAlgorithms: a list, or +append, -remove (wildcards), ^prepend to the default."""
    names = default.split(",")
    if value.startswith("+"):
        return ",".join(names + [v for v in value[1:].split(",") if v not in names])
    if value.startswith("^"):
        added = value[1:].split(",")
        return ",".join(added + [v for v in names if v not in added])
    if value.startswith("-"):
        patterns = value[1:].split(",")
        return ",".join(v for v in names if not any(wildcard(v, p) for p in patterns))
    return value


def from_sshd_t(text):
    """Settings from the output of `sshd -T`: lower-case keys; repeated keys joined with a space."""
    settings = {}
    for line in text.splitlines():
        key, _sep, value = line.partition(" ")
        key, value = key.lower(), value.strip()
        if not key:
            continue
        if key in settings and key in ACCUMULATE:
            value = settings[key] + " " + value
        settings[key] = settings.get(key, value) if key not in ACCUMULATE else value
    return settings
