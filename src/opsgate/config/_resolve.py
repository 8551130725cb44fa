"""Where each setting's value comes from: a flag, the environment, the config file,
or the default — in that order (SPEC §10), resolved here and nowhere else.

Standard library only (``tomllib``, imported only when a config file exists): the
hook's decision path resolves its settings here too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate._boolean import parse_bool
from opsgate.config._table import SETTINGS, Setting, by_key
from opsgate.errors import ConfigError

__all__ = [
    "DEFAULT_HOME",
    "SYSTEM_FILE",
    "Config",
    "Value",
    "current",
    "resolve",
    "set_flags",
]

SYSTEM_FILE = Path("/etc/opsgate/config.toml")
FILE_NAME = "config.toml"
DEFAULT_HOME = "~/.opsgate"

# Layers, highest first.  A value's layer says how explicitly it was chosen: a flag
# beats the environment beats the file beats the default (SPEC §10).
FLAG, ENV, FILE, DEFAULT = 3, 2, 1, 0


@dataclass(frozen=True, slots=True)
class Value:
    setting: Setting
    value: Any  # typed: str, Path, int, float, bool, tuple[str, ...]; None when unset
    layer: int
    source: str  # "flag --data-dir", "environment OPSGATE_HOME", "file …", "default"

    @property
    def is_set(self) -> bool:
        return self.value is not None


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    values: Mapping[str, Any]  # dotted key -> the TOML value


class Config:
    """The effective settings of one process (or, in the hook's service, of one
    request's environment).  Values are converted when first asked for, so a bad
    value in a setting a command does not use does not stop it."""

    def __init__(
        self, flags: Mapping[str, Any], env: Mapping[str, str], file: _File | None
    ) -> None:
        self._flags = flags
        self._env = env
        self.file = file
        self._cache: dict[str, Value] = {}

    @property
    def file_path(self) -> Path | None:
        return self.file.path if self.file is not None else None

    def value(self, key: str) -> Value:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(by_key(key))
        return found

    def get(self, key: str) -> Any:
        return self.value(key).value

    def layer(self, key: str) -> int:
        return self.value(key).layer if self.value(key).is_set else DEFAULT

    def explicit(self, key: str) -> Any:
        """The value only when a flag or the environment set it (agents' connections:
        a person's config file must not point their agents at a control plane)."""
        found = self.value(key)
        return found.value if found.layer >= ENV else None

    def text(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else str(value)

    def path(self, key: str) -> Path | None:
        value = self.get(key)
        return value if isinstance(value, Path) else None

    def integer(self, key: str) -> int:
        value = self.get(key)
        assert isinstance(value, int), f"{key} has no default"
        return value

    def number(self, key: str) -> float:
        value = self.get(key)
        assert isinstance(value, int | float), f"{key} has no default"
        return float(value)

    def boolean(self, key: str) -> bool:
        return bool(self.get(key))

    def paths(self, key: str) -> tuple[Path, ...]:
        value = self.get(key)
        return tuple(Path(p).expanduser() for p in value) if value else ()

    @property
    def data_dir(self) -> Path:
        found = self.path("data_dir")
        assert found is not None
        return found

    @property
    def database_url(self) -> str | None:
        """The shared database, unless an explicit ``--data-dir`` chose a local one
        (the data directory from the environment names where the config file is,
        so it does not beat a ``database_url`` in that file)."""
        if self.value("data_dir").layer == FLAG:
            return None
        return self.text("database_url")

    def _resolve(self, s: Setting) -> Value:
        if s.key in self._flags and self._flags[s.key] is not None:
            where = f"flag {s.flag}" if s.flag else "flag"
            return Value(s, _convert(s, self._flags[s.key], where, None), FLAG, where)
        raw = self._env.get(s.env)
        if raw:  # an empty variable is unset (`OPSGATE_URL= opsgate …`)
            where = f"environment {s.env}"
            return Value(s, _convert(s, raw, where, None), ENV, where)
        if self.file is not None and s.key in self.file.values:
            where = f"file {self.file.path}"
            return Value(s, _convert(s, self.file.values[s.key], where, self.file.path), FILE,
                         where)  # fmt: skip
        if s.default is None:
            return Value(s, None, DEFAULT, "unset")
        return Value(s, _convert(s, s.default, "default", None), DEFAULT, "default")


def _convert(s: Setting, raw: Any, where: str, relative_to: Path | None) -> Any:
    """``raw`` (text from a flag or the environment, or a TOML value) as ``s``'s type;
    a ConfigError names the setting and where the value came from."""

    def bad(expected: str) -> ConfigError:
        return ConfigError(
            f"{s.key} ({where}) must be {expected}, not {raw!r}",
            hint="fix or unset it; `opsgate config show` lists every setting",
        )

    kind = s.kind
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        parsed = parse_bool(str(raw))
        if parsed is None:
            raise bad("true or false (1/0, yes/no, on/off)")
        return parsed
    if kind in ("int", "float"):
        if isinstance(raw, bool):
            raise bad("a number")
        try:
            number: float = int(str(raw).strip()) if kind == "int" else float(str(raw).strip())
        except ValueError:
            raise bad("a whole number" if kind == "int" else "a number") from None
        if number < 0:
            raise bad("zero or more")
        return number
    if kind == "paths":
        items = raw if isinstance(raw, list | tuple) else str(raw).split(os.pathsep)
        if not all(isinstance(p, str | Path) for p in items):
            raise bad("a list of paths")
        return tuple(str(_as_path(str(p), relative_to)) for p in items if str(p))
    if not isinstance(raw, str | Path):
        raise bad("a string")
    text = str(raw)
    if kind == "path":
        return _as_path(text, relative_to)
    if kind == "choice" and text not in s.choices:
        raise bad("one of " + ", ".join(s.choices))
    if kind == "url" and s.key != "database_url" and not text.startswith(("http://", "https://")):
        raise bad("an http(s) URL")
    return text


def _as_path(text: str, relative_to: Path | None) -> Path:
    """A path; one written in the config file is relative to the file's directory."""
    path = Path(text).expanduser()
    if relative_to is not None and not path.is_absolute():
        return relative_to.parent / path
    return path


# --- the config file ------------------------------------------------------------------

_FILES: dict[Path, tuple[tuple[int, int, int], _File]] = {}


def _find(flags: Mapping[str, Any], env: Mapping[str, str]) -> Path | None:
    """The config file: named (--config, OPSGATE_CONFIG; it must exist), else
    config.toml in the data directory, else the system-wide file."""
    named = flags.get("config") or env.get("OPSGATE_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            where = "--config" if flags.get("config") else "OPSGATE_CONFIG"
            raise ConfigError(f"the config file {path} ({where}) does not exist",
                              hint="check the path, or unset it to use the default")  # fmt: skip
        return path
    home = flags.get("data_dir") or env.get("OPSGATE_HOME") or DEFAULT_HOME
    for candidate in (Path(home).expanduser() / FILE_NAME, SYSTEM_FILE):
        if _visible(candidate):
            return candidate
    return None


def _visible(path: Path) -> bool:
    """Whether this process can see a file at ``path`` (a directory it may not search,
    another user's home, hides one: it is not this process's configuration)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _load(path: Path) -> _File:
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from exc
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _FILES.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    import tomllib

    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}",
                          hint="see docs/configuration.md for the format") from exc  # fmt: skip
    loaded = _File(path, _checked(path, _flatten(path, data), st.st_mode))
    _FILES[path] = (stamp, loaded)
    return loaded


def _flatten(path: Path, data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            if prefix:
                raise ConfigError(f"{path}: [{key}] nests too deeply")
            flat.update(_flatten(path, value, f"{key}."))
        else:
            flat[key] = value
    return flat


def _checked(path: Path, values: dict[str, Any], mode: int) -> dict[str, Any]:
    """Unknown keys (a typo) and keys the file may not set are errors; a file that
    holds a secret must not be readable by other users."""
    import difflib

    known = {s.key: s for s in SETTINGS}
    for key in values:
        setting = known.get(key)
        if setting is None:
            close = difflib.get_close_matches(key, [k for k, s in known.items() if s.file], 1)
            raise ConfigError(
                f"{path}: unknown setting {key!r}",
                hint=f"did you mean {close[0]!r}?" if close else "see docs/configuration.md",
            )
        if not setting.file:
            raise ConfigError(
                f"{path}: {key} cannot be set in the config file ({setting.why_not_file})",
                hint=f"set {setting.env} in the environment"
                + (f" or pass {setting.flag}" if setting.flag else ""),
            )
        if setting.secret and mode & 0o077:
            raise ConfigError(
                f"{path} holds a secret ({key}) but other users can read it",
                hint=f"chmod 600 {path}",
            )
    return values


# --- the process's configuration ----------------------------------------------------

_FLAGS: dict[str, Any] = {}


def set_flags(flags: Mapping[str, Any]) -> None:
    """The command line's settings (the highest layer), for the rest of this process."""
    _FLAGS.clear()
    _FLAGS.update({k: v for k, v in flags.items() if v is not None})


def resolve(env: Mapping[str, str] | None = None, flags: Mapping[str, Any] | None = None) -> Config:
    """The settings for ``env`` (default: this process's environment) and ``flags``
    (default: this process's command line)."""
    env = os.environ if env is None else env
    flags = _FLAGS if flags is None else flags
    path = _find(flags, env)
    return Config(flags, env, _load(path) if path is not None else None)


def current() -> Config:
    """This process's settings: its command line, its environment, its config file."""
    return resolve()
