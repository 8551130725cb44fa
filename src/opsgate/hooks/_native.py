"""A tiny C client for the hook's fast path, built with ``cc`` when one exists.

Python needs 10-15 ms just to start, more than the whole decision costs the warm
service.  This client connects to ``$OPSGATE_HOME/run/hook.sock`` (peer checked with
SO_PEERCRED), forwards stdin and the same environment lines as ``_client``, prints
the reply and exits with its code.  Whenever the service cannot answer — no socket,
another user, a ``RETRY`` (other version or settings), a malformed reply, a timeout
— it ``execv``s the Python hook with the same stdin, so behaviour is identical and
still fails closed.  If even that exec fails it prints the agent's own block.

    opsgate hook-client build [--home DIR]     (or python -m opsgate.hooks._native)

builds ``$OPSGATE_HOME/bin/opsgate-hook-fast``; the resident service rebuilds it
when it is missing or stale.  Without a compiler nothing changes: the Python
launcher stays the hook command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from opsgate import __version__
from opsgate.hooks._client import FORWARDED_ENV, MATCHED_ENV, PROTOCOL

__all__ = ["build", "client_path", "fallback_command"]

_SOURCE = r"""#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#define MAX_INPUT (1024 * 1024)
static char *FALLBACK[] = {@FALLBACK@, NULL};
static const char *ENVS[] = {@ENVS@, NULL};

static void fallback(int argc, char **argv, FILE *replay) {
    char *args[16];
    int n = 0;
    for (int i = 0; FALLBACK[i] && n < 8; i++) args[n++] = FALLBACK[i];
    for (int i = 1; i < argc && n < 15; i++) args[n++] = argv[i];
    args[n] = NULL;
    if (replay) { fflush(replay); rewind(replay); dup2(fileno(replay), 0); }
    execv(args[0], args);
    const char *agent = argc > 1 ? argv[1] : "";  /* exec failed: the agent's own block */
    const char *why = "opsgate blocked this tool call (fail closed): the hook is not runnable";
    if (!strcmp(agent, "copilot")) {
        printf("{\"permissionDecision\": \"deny\", \"permissionDecisionReason\": \"%s\"}\n", why);
        exit(0);
    }
    if (!strcmp(agent, "cursor"))
        printf("{\"permission\": \"deny\", \"user_message\": \"%s\", \"agent_message\": \"%s\"}\n",
               why, why);
    fprintf(stderr, "%s\n", why);
    exit(2);
}

int main(int argc, char **argv) {
    const char *home = getenv("OPSGATE_HOME"), *flag = getenv("OPSGATE_HOOK_DAEMON");
    char path[256], buf[512];
    if (argc != 2 || (flag && !strcmp(flag, "0"))) fallback(argc, argv, NULL);
    if (home && *home) snprintf(path, sizeof path, "%s/run/hook.sock", home);
    else snprintf(path, sizeof path, "%s/.opsgate/run/hook.sock",
                  getenv("HOME") ? getenv("HOME") : "");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) fallback(argc, argv, NULL);
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0
        || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid())
        fallback(argc, argv, NULL);  /* stdin untouched: the Python hook reads it */
    size_t cap = 65536, size = 0;
    char *in = malloc(cap);
    for (ssize_t got; in && (got = read(0, in + size, cap - size)) > 0;) {
        size += got;
        if (size > MAX_INPUT) break;  /* the service answers with the agent's block */
        if (size == cap) in = realloc(in, cap *= 2);
    }
    FILE *replay = tmpfile();
    if (!in || !replay || fwrite(in, 1, size, replay) != size) fallback(argc, argv, replay);
    int head = snprintf(buf, sizeof buf, "@PROTOCOL@ %s @VERSION@\n", argv[1]);
    if (head >= (int)sizeof buf || write(fd, buf, head) != head) fallback(argc, argv, replay);
    for (int i = 0; ENVS[i]; i++) {
        const char *v = getenv(ENVS[i]);
        if (!v || strchr(v, '\n')) continue;
        dprintf(fd, "%s=%s\n", ENVS[i], v);
    }
    if (write(fd, "\n", 1) != 1) fallback(argc, argv, replay);
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, in + off, size - off);
        if (w <= 0) fallback(argc, argv, replay);
        off += w;
    }
    shutdown(fd, SHUT_WR);
    struct timeval tv = {4, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t rcap = 65536, rsize = 0;
    char *reply = malloc(rcap + 1);
    for (ssize_t got; reply && (got = read(fd, reply + rsize, rcap - rsize)) != 0;) {
        if (got < 0) fallback(argc, argv, replay);
        rsize += got;
        if (rsize == rcap) reply = realloc(reply, (rcap *= 2) + 1);
    }
    if (!reply) fallback(argc, argv, replay);
    reply[rsize] = 0;
    int code, hdr = 0;
    size_t out_len, err_len;
    if (sscanf(reply, "OK %d %zu %zu\n%n", &code, &out_len, &err_len, &hdr) != 3 || !hdr
        || (code != 0 && code != 2) || hdr + out_len + err_len != rsize)
        fallback(argc, argv, replay);
    fwrite(reply + hdr, 1, out_len, stdout);
    fflush(stdout);
    fwrite(reply + hdr + out_len, 1, err_len, stderr);
    return code;
}
"""


def client_path(home: str | None = None) -> Path:
    from opsgate.hooks._client import home as default_home

    return Path(home or default_home()) / "bin" / "opsgate-hook-fast"


def fallback_command() -> list[str]:
    """The Python hook the client falls back to (absolute paths, no PATH lookup)."""
    launcher = Path(sys.executable).with_name("opsgate-hook")
    if launcher.is_file():
        return [str(launcher)]
    return [str(Path(sys.executable).with_name("opsgate")), "hook"]


def _c_string(text: str) -> str:
    if any(c in text for c in '"\\\n') or not text.isprintable():
        raise ValueError(f"cannot embed {text!r} in the client")
    return f'"{text}"'


def source() -> str:
    envs = ", ".join(_c_string(k) for k in FORWARDED_ENV + MATCHED_ENV)
    return (
        _SOURCE.replace("@FALLBACK@", ", ".join(_c_string(a) for a in fallback_command()))
        .replace("@ENVS@", envs)
        .replace("@PROTOCOL@", PROTOCOL.decode())
        .replace("@VERSION@", __version__)
    )


def build(home: str | None = None) -> Path | None:
    """Compile the client into ``$OPSGATE_HOME/bin``; None when there is no compiler.
    Rebuilt only when its source (which embeds version and paths) changed."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    target = client_path(home)
    text = source()
    stamp = target.with_suffix(".c")
    if target.is_file() and stamp.is_file() and stamp.read_text() == text:
        return target
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src, out = Path(tmp) / "client.c", Path(tmp) / "client"
        src.write_text(text)
        subprocess.run([compiler, "-O2", "-o", str(out), str(src)], check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        out.chmod(0o755)
        out.replace(target)
        src.replace(stamp)
    return target


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="opsgate hook-client build")
    parser.add_argument("--home", help="opsgate home (default: $OPSGATE_HOME or ~/.opsgate)")
    args = parser.parse_args(argv)
    try:
        path = build(args.home)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"opsgate: could not build the hook client: {exc}", file=sys.stderr)
        return 1
    if path is None:
        print("opsgate: no C compiler (cc); the Python hook stays the fast path's client")
        return 0
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
