"""What Terraform reads from a root module directory: its files, variable values and overrides.

Mirrors Terraform 1.x (``configs/parser_config_dir.go``, ``command/meta_vars.go``):

- configuration is every ``*.tf`` file except names Terraform ignores (hidden ``.x.tf``,
  editor files ``x.tf~`` and ``#x.tf#``); ``*.tf.json`` is not evaluated (reported);
- ``override.tf`` and ``*_override.tf`` are merged, in lexical order, into the blocks they
  override after every other file is read (an argument replaces the base's argument, a nested
  block replaces every base block of its type);
- variable values come, lowest to highest: ``default``, ``terraform.tfvars``,
  ``terraform.tfvars.json``, ``*.auto.tfvars`` and ``*.auto.tfvars.json`` in one lexical order
  (hidden names included: Terraform loads ``.x.auto.tfvars``), then ``-var-file`` files in the
  order given. Values must be literals: Terraform evaluates variable files without variables
  or functions. ``TF_VAR_`` environment variables are never read here (the library does not
  read the environment); the caller passes their names, and a variable Terraform would take
  from one is reported, so the gate does not judge code whose inputs it has not seen.

A file Terraform would reject (malformed, a duplicate definition, an override without a base,
a non-literal variable value) is :class:`BadInputError` with the file and line.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aslcheck.errors import BadInputError, Location

_META = ("__start_line__", "__end_line__")
_AUTO_SUFFIXES = (".auto.tfvars", ".auto.tfvars.json")
_DEFAULT_VAR_FILES = ("terraform.tfvars", "terraform.tfvars.json")
_NUMBER = re.compile(r"^\$\{\s*(-?\d+(?:\.\d+)?)\s*\}$")

Parser = Callable[[str, str], dict[str, Any]]
"""Parses one HCL file (real path, shown path) into ``hcl2``'s structure."""


def is_ignored(name: str) -> bool:
    """Whether Terraform skips a configuration file of this name (``isIgnoredFile``)."""
    return name.startswith(".") or name.endswith("~") or (name.startswith("#")
                                                           and name.endswith("#"))


def is_override(name: str) -> bool:
    """Whether ``name`` is an override file (``override.tf``, ``x_override.tf``, ``.tf.json``)."""
    base = name.removesuffix(".json").removesuffix(".tf")
    return base == "override" or base.endswith("_override")


@dataclass(frozen=True)
class RootFiles:
    """The files of one root module directory, as Terraform selects them (names, sorted)."""

    config: tuple[str, ...]
    """``*.tf`` files read first."""
    overrides: tuple[str, ...]
    """``override.tf`` / ``*_override.tf``, merged afterwards in this order."""
    json_config: tuple[str, ...]
    """``*.tf.json`` files (not evaluated)."""
    var_files: tuple[str, ...]
    """Variable files Terraform loads by itself, lowest precedence first."""
    ignored: tuple[str, ...]
    """``*.tf`` names Terraform ignores (hidden or editor files)."""

    @property
    def hidden_var_files(self) -> tuple[str, ...]:
        """Automatic variable files with hidden names: Terraform loads them, checkov does not."""
        return tuple(n for n in self.var_files if n.startswith("."))


def root_files(path: str) -> RootFiles:
    """Select the files of the root module in directory ``path``."""
    try:
        names = sorted(n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n)))
    except OSError as exc:
        raise BadInputError(f"cannot list directory: {exc.strerror}", Location(path)) from exc
    config, overrides, json_config, ignored = [], [], [], []
    for name in names:
        if name.endswith(".tf") or name.endswith(".tf.json"):
            if is_ignored(name):
                ignored.append(name)
            elif name.endswith(".tf.json"):
                json_config.append(name)
            elif is_override(name):
                overrides.append(name)
            else:
                config.append(name)
    # NOTE: Go's ReadDir order is byte order, which Python's str order matches for UTF-8.
    auto = [n for n in names if n.endswith(_AUTO_SUFFIXES)]
    defaults = [n for n in _DEFAULT_VAR_FILES if n in names]
    return RootFiles(tuple(config), tuple(overrides), tuple(json_config),
                     tuple(defaults + auto), tuple(ignored))


# -- variable files -----------------------------------------------------------------------


@dataclass(frozen=True)
class VariableFile:
    """The literal values one variable file assigns."""

    shown: str
    """The file as the user sees it."""
    values: Mapping[str, Any]
    """Variable name -> value (in ``hcl2``'s value shape: templates stay ``${...}``)."""


def _line_of(text: str, name: str, json_syntax: bool, occurrence: int = 1) -> int | None:
    pattern = (rf'"{re.escape(name)}"\s*:' if json_syntax
               else rf'^\s*"?{re.escape(name)}"?\s*=')
    found = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(pattern, line):
            found += 1
            if found == occurrence:
                return number
    return None


def _literal(value: Any, where: Location, name: str) -> Any:
    """``value`` if it is a literal Terraform accepts in a variable file; else BadInputError."""
    if isinstance(value, str):
        number = _NUMBER.match(value)
        if number:
            return ast.literal_eval(number.group(1))
        if "${" in value or "%{" in value:
            raise BadInputError(
                f"variable {name!r} is not a literal value ({value!r}): Terraform evaluates "
                "variable files without variables or functions, and the gate does not accept "
                "template sequences in them", where)
        return value
    if isinstance(value, list):
        return [_literal(v, where, name) for v in value]
    if isinstance(value, dict):
        if any(k in value for k in _META):
            raise BadInputError(f"{name!r} is a block; variable files hold only "
                                "'name = value' assignments", where)
        return {k: _literal(v, where, name) for k, v in value.items()}
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _read_text(path: str, shown: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read variable file: {exc.strerror}", Location(shown)) from exc
    except UnicodeDecodeError as exc:
        raise BadInputError("variable file is not UTF-8", Location(shown)) from exc


def _json_file(path: str, shown: str) -> dict[str, Any]:
    text = _read_text(path, shown)
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise BadInputError(f"duplicate key {exc.key!r} (Terraform rejects duplicate arguments)",
                            Location(shown, _line_of(text, exc.key, True, 2))) from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"malformed JSON: {exc.msg}", Location(shown, exc.lineno)) from None
    if not isinstance(doc, dict):
        raise BadInputError("a JSON variable file must hold one object of variable values",
                            Location(shown, 1))
    # NOTE: HCL's JSON syntax treats a "//" property as a comment.
    return {k: _literal(v, Location(shown, _line_of(text, k, True)), k)
            for k, v in doc.items() if k != "//"}


def _hcl_file(path: str, shown: str, parse: Parser) -> dict[str, Any]:
    text = _read_text(path, shown)
    doc = parse(path, shown)
    out: dict[str, Any] = {}
    for name, raw in doc.items():
        where = Location(shown, _line_of(text, name, False))
        if not isinstance(raw, list) or len(raw) != 1:
            raise BadInputError(f"{name!r} is assigned more than once (Terraform rejects "
                                "duplicate arguments)",
                                Location(shown, _line_of(text, name, False, 2)))
        out[name] = _literal(raw[0], where, name)
    return out


def load_variable_files(files: Iterable[tuple[str, str]], parse: Parser) -> list[VariableFile]:
    """Read ``(path, shown)`` variable files in precedence order (lowest first)."""
    out = []
    for path, shown in files:
        if not os.path.isfile(path):
            raise BadInputError("no such variable file", Location(shown))
        values = _json_file(path, shown) if path.endswith(".json") else \
            _hcl_file(path, shown, parse)
        out.append(VariableFile(shown, values))
    return out


# -- definitions: duplicates and overrides ------------------------------------------------


def _labelled(doc: Mapping[str, Any], key: str, depth: int) -> Iterable[tuple[tuple[str, ...],
                                                                             dict[str, Any]]]:
    """``(labels, body)`` of every ``key`` block with ``depth`` labels in one parsed file."""
    for item in doc.get(key, []):
        if not isinstance(item, dict):
            continue
        if depth == 1:
            for name, body in item.items():
                if isinstance(body, dict):
                    yield (name,), body
        else:
            for rtype, named in item.items():
                if isinstance(named, dict):
                    for name, body in named.items():
                        if isinstance(body, dict):
                            yield (rtype, name), body


_KINDS = (("resource", 2, "resource"), ("data", 2, "data source"), ("variable", 1, "variable"),
          ("module", 1, "module call"))


def _provider_key(name: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    alias = body.get("alias", [None])
    alias = alias[0] if isinstance(alias, list) and alias else alias
    return (name, str(alias)) if alias else (name,)


def check_duplicates(docs: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Raise for a definition Terraform would reject as a duplicate (resources, data sources,
    variables, module calls, locals, provider configurations)."""
    for key, depth, what in _KINDS:
        seen: dict[tuple[str, ...], str] = {}
        for shown, doc in docs:
            for labels, body in _labelled(doc, key, depth):
                if labels in seen:
                    raise BadInputError(
                        f"duplicate {what} {'.'.join(labels)!r} (first defined in "
                        f"{seen[labels]}); Terraform rejects the configuration",
                        Location(shown, body.get("__start_line__")))
                seen[labels] = shown
    providers: dict[tuple[str, ...], str] = {}
    locals_seen: dict[str, str] = {}
    for shown, doc in docs:
        for labels, body in _labelled(doc, "provider", 1):
            pkey = _provider_key(labels[0], body)
            if pkey in providers:
                raise BadInputError(f"duplicate provider configuration {'.'.join(pkey)!r} "
                                    f"(first in {providers[pkey]})",
                                    Location(shown, body.get("__start_line__")))
            providers[pkey] = shown
        for block in doc.get("locals", []):
            for name in block:
                if name in _META:
                    continue
                if name in locals_seen:
                    raise BadInputError(f"duplicate local value {name!r} (first in "
                                        f"{locals_seen[name]})",
                                        Location(shown, block.get("__start_line__")))
                locals_seen[name] = shown


def _merge_body(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Terraform's override merge of one block body (``configs/module_merge_body.go``)."""
    out = dict(base)
    replaced = {k for k in override if k not in _META and k not in ("dynamic", "lifecycle")}
    dynamic_over = [d for d in override.get("dynamic", []) if isinstance(d, dict)]
    dynamic_names = {name for d in dynamic_over for name in d}
    for key in replaced:
        out[key] = override[key]
    for name in dynamic_names:
        # NOTE: a dynamic block in the override replaces static and dynamic base blocks alike.
        out.pop(name, None)
    if "dynamic" in out or dynamic_over:
        kept = [d for d in out.get("dynamic", []) if isinstance(d, dict)
                and not (set(d) & (replaced | dynamic_names))]
        out["dynamic"] = kept + dynamic_over
        if not out["dynamic"]:
            del out["dynamic"]
    if "lifecycle" in override:
        mine = (out.get("lifecycle") or [{}])[0]
        theirs = (override.get("lifecycle") or [{}])[0]
        out["lifecycle"] = [{**mine, **theirs}]
    return out


def apply_overrides(docs: list[tuple[str, dict[str, Any]]],
                    overrides: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """Merge override files into ``docs`` (in place) as Terraform does.

    Returns the addresses (``aws_s3_bucket.x``, ``data.T.N``, ``var.x``, ``local.x``,
    ``provider.aws``) each override changed; an override without a base definition is
    :class:`BadInputError`, as in Terraform.
    """
    changed: list[str] = []
    for shown, odoc in overrides:
        for key, depth, what in _KINDS:
            for labels, obody in _labelled(odoc, key, depth):
                target = _find_body(docs, key, depth, labels)
                if target is None:
                    raise BadInputError(f"missing base {what} definition to override: "
                                        f"{'.'.join(labels)}",
                                        Location(shown, obody.get("__start_line__")))
                holder, name = target
                holder[name] = _merge_body(holder[name], obody)
                prefix = {"resource": "", "data": "data.", "variable": "var.",
                          "module": "module."}[key]
                changed.append(prefix + ".".join(labels))
        for labels, obody in _labelled(odoc, "provider", 1):
            pkey = _provider_key(labels[0], obody)
            found = next(((item, labels[0]) for _, doc in docs for item in doc.get("provider", [])
                          if labels[0] in item
                          and _provider_key(labels[0], item[labels[0]]) == pkey), None)
            if found is None:
                raise BadInputError(f"missing base provider configuration to override: "
                                    f"{'.'.join(pkey)}",
                                    Location(shown, obody.get("__start_line__")))
            found[0][found[1]] = _merge_body(found[0][found[1]], obody)
            changed.append("provider." + ".".join(pkey))
        for block in odoc.get("locals", []):
            for name, value in block.items():
                if name in _META:
                    continue
                base = next((b for _, doc in docs for b in doc.get("locals", []) if name in b),
                            None)
                if base is None:
                    raise BadInputError(f"missing base local value definition to override: "
                                        f"{name}", Location(shown, block.get("__start_line__")))
                base[name] = value
                changed.append(f"local.{name}")
    return changed


def _find_body(docs: Sequence[tuple[str, dict[str, Any]]], key: str, depth: int,
               labels: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
    for _, doc in docs:
        for item in doc.get(key, []):
            if not isinstance(item, dict):
                continue
            holder: Any = item if depth == 1 else item.get(labels[0])
            name = labels[-1]
            if isinstance(holder, dict) and isinstance(holder.get(name), dict):
                return holder, name
    return None
