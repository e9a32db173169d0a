"""The issuer key ring a server signs with, held to the keys its store has already signed with.

Credentials, eligibility answers and status lists are signed by the active key of the ring in
``CREDO_KEY_DIR``. Started with another directory, a server used to generate a fresh key there
without a word, and every credential issued before failed with ``CRED_UNKNOWN_KEY``. Now the store
remembers each key it was served with (``issuer_keys``), and :func:`open_keyring`

* loads the ring, and refuses it if it lacks the key the store recorded last (the wrong directory, or
  a ring replaced by hand);
* generates a ring only for a store that has recorded no key (a fresh deployment), under a file lock
  so that several server processes starting at once make one ring, not one each;
* records the ring's active key.

A refusal is a :class:`~credo.settings.SettingsError` naming ``CREDO_KEY_DIR``: the server does not start.
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from credo.credentials import KeyRing
from credo.settings import SettingsError
from credo.store.tables import issuer_keys

_RING_FILE = "keyring.json"
_LOCK_FILE = ".keyring.lock"


def recorded_kids(engine: Engine) -> list[str]:
    """The key ids the store has signed with, the latest recorded first."""
    with engine.connect() as conn:
        return list(conn.execute(select(issuer_keys.c.kid)
                                 .order_by(issuer_keys.c.recorded_at.desc(), issuer_keys.c.kid)).scalars())


def _record(engine: Engine, kid: str, now: datetime) -> None:
    try:
        with engine.begin() as conn:
            if conn.execute(select(issuer_keys.c.kid).where(issuer_keys.c.kid == kid)).first() is None:
                conn.execute(insert(issuer_keys).values(kid=kid, recorded_at=now))
    except IntegrityError:
        pass  # another server process recorded it first


def _wrong_ring(directory: Path, latest: str) -> SettingsError:
    return SettingsError(
        f"CREDO_KEY_DIR {str(directory)!r} does not hold issuer key {latest}, the last key this store signed "
        "credentials and answers with: point CREDO_KEY_DIR at the deployment's key ring (a new key would make "
        "every credential issued so far fail verification)")


def open_keyring(engine: Engine, directory: Path, now: datetime) -> KeyRing:
    """The key ring in ``directory``, checked against and recorded in the store (see the module)."""
    recorded = recorded_kids(engine)
    ring_file = directory / _RING_FILE
    if not ring_file.exists():
        if recorded:
            raise SettingsError(
                f"CREDO_KEY_DIR {str(directory)!r} holds no key ring, but this store has signed with issuer "
                f"key {recorded[0]}: point CREDO_KEY_DIR at the deployment's key ring; a new key is generated "
                "only for a store that has never signed anything")
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not ring_file.exists():  # another process may have made it while this one waited
                KeyRing.generate(now).save(directory)
        finally:
            os.close(fd)  # closing releases the lock
    ring = KeyRing.load(directory)
    if recorded and recorded[0] not in ring.kids:
        raise _wrong_ring(directory, recorded[0])
    _record(engine, ring.active.kid, now)
    return ring
