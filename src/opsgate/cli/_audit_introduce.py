"""``opsgate audit introduce-key NEW_KEY``: the current checkpoint key (or ``--by``)
signs that NEW_KEY succeeds it; the introduction goes into the audit trail and to
every witness, so a witness pinned to the old key trusts the new one — and no key
that was never introduced (:mod:`opsgate.audit.introduction`)."""

from __future__ import annotations

import argparse
import getpass
import json
import time

from opsgate.audit import AuditLog, EventType
from opsgate.errors import InputError

__all__ = ["introduce_key"]


def introduce_key(ns: argparse.Namespace, log: AuditLog) -> int:
    from opsgate.audit.checkpoint import load_or_create_key
    from opsgate.audit.introduction import introduce, public_raw
    from opsgate.audit.log import rfc3339
    from opsgate.audit.witness import export_introduction

    by = ns.by or log.key_path
    if not by.is_file():
        raise InputError(
            f"no signing key at {by} to introduce the new key with",
            hint="run it where the current key is configured, before the rotation, or "
            "pass the old private key with --by",
        )
    intro = introduce(load_or_create_key(by), public_raw(ns.new_key), log=log.log_id,
                      time=rfc3339(time.time()))  # fmt: skip
    witnesses = list(dict.fromkeys(filter(None, [*ns.witness, log.witness])))
    for witness in witnesses:  # every one must hold it: else it refuses the new key
        export_introduction(intro, witness)
    log.append(
        EventType.AUDIT_KEY_INTRODUCED,
        actor={"type": "user", "name": getpass.getuser()},
        target=intro.key_id,
        result={
            "by": intro.by,
            "key_id": intro.key_id,
            "witnesses": witnesses,
            "introduction": json.loads(intro.body()),
        },
    )
    if ns.json:
        print(json.dumps({"by": intro.by, "key_id": intro.key_id, "witnesses": witnesses},
                         indent=2))  # fmt: skip
        return 0
    where = f"; recorded at {', '.join(witnesses)}" if witnesses else "; no witness configured"
    print(f"introduced {intro.key_id}, signed by {intro.by}{where}")
    print("now install the new key and restart (docs/deploy.md, Rotating the audit signing key)")
    return 0
