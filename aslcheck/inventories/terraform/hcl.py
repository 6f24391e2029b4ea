"""Read a Terraform root module from ``*.tf`` files and evaluate what the code determines.

Parsing uses ``hcl2`` from ``bc-python-hcl2``, the same parser (and version) checkov uses, so
both read the same blocks on the same lines. Evaluation is deliberately small: literals,
``var.*`` with defaults or variable-file values (which files, in which order, and how
override files merge: :mod:`.inputs`), ``local.*``, references to declared resources
and a few data sources (see :mod:`.resolve`), string templates, and the functions
``jsonencode``, ``merge``, ``concat``, ``tolist``, ``toset``, ``tomap``. Everything else
(conditionals, ``for`` expressions, splats, other functions) is UNKNOWN.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aslcheck.errors import BadInputError, Location, MissingExtraError
from aslcheck.inventories.terraform.declared import (
    UNKNOWN,
    Block,
    Body,
    Declared,
    DeclaredInputs,
    Problem,
    Provider,
    _Unknown,
    index,
    is_traversal,
    split_traversal,
)
from aslcheck.inventories.terraform.inputs import (
    VariableFile,
    apply_overrides,
    check_duplicates,
    load_variable_files,
    root_files,
)
from aslcheck.inventories.terraform.policy import document_from_data
from aslcheck.inventories.terraform.resolve import reference

_MAX_DEPTH = 40
_META = ("__start_line__", "__end_line__")
_FUNCS = ("jsonencode", "merge", "concat", "tolist", "toset", "tomap")


def _parse_file(path: str, shown: str) -> dict[str, Any]:
    try:
        from hcl2.api import load as hcl_load
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise MissingExtraError("terraform", "hcl2 (bc-python-hcl2)") from exc
    try:
        with open(path, encoding="utf-8") as fh:
            parsed: dict[str, Any] = hcl_load(fh)
    except OSError as exc:
        raise BadInputError(f"cannot read Terraform file: {exc.strerror}", Location(shown)) from exc
    except UnicodeDecodeError as exc:
        raise BadInputError("Terraform file is not UTF-8", Location(shown)) from exc
    except Exception as exc:
        line = getattr(exc, "line", None)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInputError(f"malformed HCL: {detail}",
                            Location(shown, line if isinstance(line, int) and line > 0 else None)
                            ) from exc
    return parsed


def _split_args(text: str) -> list[str]:
    """Split ``a, {b: c}, "d,e"`` at top-level commas."""
    out: list[str] = []
    depth, quote, cur = 0, "", list[str]()
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _interpolations(text: str) -> list[tuple[bool, str]] | None:
    """Split a template into (is_expression, text) parts; None when braces do not balance."""
    parts: list[tuple[bool, str]] = []
    i, lit = 0, list[str]()
    while i < len(text):
        if text.startswith("${", i):
            depth, j, quote = 1, i + 2, ""
            while j < len(text) and depth:
                ch = text[j]
                if quote:
                    quote = "" if ch == quote else quote
                elif ch in "\"'":
                    quote = ch
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                j += 1
            if depth:
                return None
            if lit:
                parts.append((False, "".join(lit)))
                lit = []
            parts.append((True, text[i + 2:j - 1]))
            i = j
        else:
            lit.append(text[i])
            i += 1
    if lit:
        parts.append((False, "".join(lit)))
    return parts


class Module:
    """One root module: its blocks, variables, locals and providers, with an evaluator."""

    def __init__(self, docs: list[tuple[str, dict[str, Any]]],
                 var_files: Sequence[VariableFile] = ()) -> None:
        self.variables: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.declared_variables: set[str] = set()
        """Names of the ``variable`` blocks."""
        self.set_by_file: dict[str, str] = {}
        """Variable name -> the variable file whose value Terraform uses."""
        self._raw_blocks: list[tuple[str, str, str, str, dict[str, Any]]] = []
        self._providers_raw: dict[str, dict[str, Any]] = {}
        not_nullable: set[str] = set()
        for shown, doc in docs:
            for var in doc.get("variable", []):
                for name, body in var.items():
                    self.declared_variables.add(name)
                    if "default" in body:
                        self.variables[name] = body["default"][0]
                    if body.get("nullable") in ([False], False):
                        not_nullable.add(name)
            for loc in doc.get("locals", []):
                self.locals.update({k: v[0] if isinstance(v, list) and len(v) == 1 else v
                                    for k, v in loc.items() if k not in _META})
            for prov in doc.get("provider", []):
                for pname, body in prov.items():
                    alias = body.get("alias", [None])[0]
                    self._providers_raw[f"{pname}.{alias}" if alias else pname] = body
            for mode, key in (("managed", "resource"), ("data", "data")):
                for item in doc.get(key, []):
                    for rtype, named in item.items():
                        for name, body in named.items():
                            self._raw_blocks.append((mode, rtype, name, shown, body))
            for mod in doc.get("module", []):
                for name in mod:
                    self.problems.append(Problem(
                        "ModuleNotExpanded",
                        f"module {name!r} is not evaluated from a directory scan; its resources "
                        "are unknown (scan a plan from 'terraform show -json' instead)",
                        address=f"module.{name}"))
        for vf in var_files:
            for name, value in vf.values.items():
                # NOTE: Terraform ignores (with a warning) values for undeclared variables, and
                # a null for a non-nullable variable means "use the default".
                if name not in self.declared_variables:
                    continue
                self.set_by_file[name] = vf.shown
                if value is None and name in not_nullable:
                    continue
                self.variables[name] = value
        self._providers: dict[str, Provider] = {}
        self._stack: set[str] = set()
        self._by_address: dict[str, Block] = {}
        self.blocks = tuple(self._block(*raw) for raw in self._raw_blocks)
        self._by_address = {b.address: b for b in self.blocks}

    # -- providers ------------------------------------------------------------------------

    def provider(self, key: str) -> Provider:
        """The provider configuration called ``key`` (``aws`` or ``aws.alias``)."""
        if key not in self._providers:
            raw = self._providers_raw.get(key)
            if raw is None:
                self._providers[key] = Provider()
            else:
                body = HclBody(raw, self)
                accounts = body.get("allowed_account_ids")
                account = (accounts[0] if isinstance(accounts, list) and len(accounts) == 1
                           and isinstance(accounts[0], str) else None)
                region = body.get("region")
                tags: Any = {}
                dt = body.blocks("default_tags")
                if dt is UNKNOWN:
                    tags = UNKNOWN
                elif dt:
                    tags = dt[0].get("tags", {})
                self._providers[key] = Provider(account=account,
                                                region=region if isinstance(region, str) else None,
                                                default_tags=tags)
        return self._providers[key]

    def _block(self, mode: str, rtype: str, name: str, shown: str, raw: dict[str, Any]) -> Block:
        prefix = "data." if mode == "data" else ""
        address = f"{prefix}{rtype}.{name}"
        key = rtype.split("_", 1)[0]
        pref = raw.get("provider", [None])[0]
        if isinstance(pref, str):
            key = pref.removeprefix("${").removesuffix("}")
            if key not in self._providers_raw and "." in key:
                self.problems.append(Problem(
                    "UnknownProvider", f"{address} uses provider {key!r}, which is not declared",
                    address=address, resource_type=rtype))
        expanded = not ("count" in raw or "for_each" in raw)
        if not expanded:
            self.problems.append(Problem(
                "CountNotExpanded",
                f"{address} uses count/for_each; its instances are known only from a plan",
                address=address, resource_type=rtype))
        return Block(mode=mode, type=rtype, name=name, address=address, file=shown,
                     start_line=raw.get("__start_line__"), end_line=raw.get("__end_line__"),
                     body=HclBody(raw, self), provider=self.provider(key), expanded=expanded)

    def lookup(self, address: str) -> Block | None:
        """A block by address."""
        return self._by_address.get(address)

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self, value: Any, depth: int = 0) -> Any:
        """Evaluate a raw ``hcl2`` value."""
        if depth > _MAX_DEPTH:
            return UNKNOWN
        if isinstance(value, str):
            return self._template(value, depth)
        if isinstance(value, list):
            return [self.evaluate(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: self.evaluate(v, depth + 1) for k, v in value.items() if k not in _META}
        if isinstance(value, float):
            return int(value) if value.is_integer() else UNKNOWN
        return value

    def _template(self, text: str, depth: int) -> Any:
        if "${" not in text:
            return text
        parts = _interpolations(text)
        if parts is None:
            return UNKNOWN
        if len(parts) == 1 and parts[0][0]:
            return self._expr(parts[0][1].strip(), depth + 1)
        out = []
        for is_expr, piece in parts:
            if not is_expr:
                out.append(piece)
                continue
            value = self._expr(piece.strip(), depth + 1)
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, (str, int)):
                return UNKNOWN
            out.append(str(value))
        return "".join(out)

    def _expr(self, text: str, depth: int) -> Any:
        if is_traversal(text):
            return self._traverse(text, depth)
        head, _, rest = text.partition("(")
        if head in _FUNCS and text.endswith(")"):
            args = [self._arg(a, depth) for a in _split_args(rest[:-1])]
            return _call(head, args)
        return self._literal(text, depth)

    def _arg(self, text: str, depth: int) -> Any:
        if is_traversal(text):
            return self._traverse(text, depth)
        if text.startswith("${") and text.endswith("}"):
            return self._template(text, depth)
        head = text.partition("(")[0]
        if head in _FUNCS:
            return self._expr(text, depth)
        return self._literal(text, depth)

    def _literal(self, text: str, depth: int) -> Any:
        # NOTE: hcl2 renders object and tuple expressions as Python literals with ${...}
        # strings inside; anything else (operators, conditionals, for) fails here -> UNKNOWN.
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return UNKNOWN
        return self.evaluate(value, depth + 1)

    def _traverse(self, text: str, depth: int) -> Any:
        parts = split_traversal(text)
        head = parts[0]
        if head in ("var", "local") and len(parts) >= 2 and isinstance(parts[1], str):
            key = f"{head}.{parts[1]}"
            table = self.variables if head == "var" else self.locals
            if parts[1] not in table or key in self._stack:
                return UNKNOWN
            self._stack.add(key)
            try:
                value = self.evaluate(table[parts[1]], depth + 1)
            finally:
                self._stack.discard(key)
            return index(value, parts[2:])
        if head in ("each", "count", "self", "path", "terraform", "module"):
            return UNKNOWN
        if text in self._stack:
            return UNKNOWN
        self._stack.add(text)
        try:
            return reference(parts, self.lookup, document_from_data)
        finally:
            self._stack.discard(text)


def _call(name: str, args: list[Any]) -> Any:
    if any(a is UNKNOWN for a in args):
        return UNKNOWN
    if name == "jsonencode" and len(args) == 1:
        return args[0]
    if name in ("tolist", "toset", "tomap") and len(args) == 1:
        return args[0]
    if name == "concat" and all(isinstance(a, list) for a in args):
        return [x for a in args for x in a]
    if name == "merge" and all(isinstance(a, Mapping) for a in args):
        out: dict[str, Any] = {}
        for a in args:
            out.update(a)
        return out
    return UNKNOWN


class HclBody(Body):
    """A block body read from HCL, evaluated on access."""

    def __init__(self, raw: Mapping[str, Any], module: Module) -> None:
        self._raw = raw
        self._module = module

    def has(self, name: str) -> bool:
        """Whether the code sets ``name``."""
        return name in self._raw and name not in _META

    def get(self, name: str, default: Any = None) -> Any:
        """The evaluated argument."""
        if not self.has(name):
            return default
        raw = self._raw[name]
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        return self._module.evaluate(raw)

    def blocks(self, name: str) -> list[Body] | _Unknown:
        """Nested blocks (UNKNOWN when a ``dynamic`` block generates them)."""
        for dyn in self._raw.get("dynamic", []):
            if isinstance(dyn, Mapping) and name in dyn:
                return UNKNOWN
        raw = self._raw.get(name, [])
        if not isinstance(raw, list) or any(not isinstance(b, Mapping) for b in raw):
            return UNKNOWN
        return [HclBody(b, self._module) for b in raw]


def _join(root: str, name: str) -> str:
    return os.path.normpath(os.path.join(root, name)).replace(os.sep, "/")


def _shown(path: str) -> str:
    return path.replace(os.sep, "/")


def load_directory(path: str, var_files: Sequence[str] = (),
                   environment_variables: Iterable[str] = ()) -> Declared:
    """Parse and evaluate the root module in directory ``path`` as Terraform reads it.

    ``var_files`` are ``-var-file`` arguments (highest precedence, in order);
    ``environment_variables`` are the names of the caller's environment variables: a declared
    variable Terraform would take from ``TF_VAR_<name>`` (no file sets it) becomes a problem.
    Raises :class:`BadInputError` naming the file and line for anything Terraform would reject
    (malformed HCL or variable file, duplicate or missing-base definitions), and for a
    directory without Terraform files. See :mod:`.inputs`.
    """
    if not os.path.isdir(path):
        raise BadInputError("not a directory", Location(path))
    files = root_files(path)
    if not files.config:
        raise BadInputError("no Terraform (*.tf) files in this directory", Location(path))
    docs = [(_join(path, n), _parse_file(os.path.join(path, n), _join(path, n)))
            for n in files.config]
    check_duplicates(docs)
    overrides = [(_join(path, n), _parse_file(os.path.join(path, n), _join(path, n)))
                 for n in files.overrides]
    overridden = apply_overrides(docs, overrides)
    values = load_variable_files(
        [(os.path.join(path, n), _join(path, n)) for n in files.var_files]
        + [(f, _shown(f)) for f in var_files], _parse_file)
    module = Module(docs, values)
    problems = list(module.problems)
    if files.json_config:
        problems.append(Problem("JsonSyntaxNotEvaluated",
                                "*.tf.json files are not evaluated; their resources are unknown: "
                                + ", ".join(files.json_config)))
    env = set(environment_variables)
    for name in sorted(module.declared_variables - set(module.set_by_file)):
        if f"TF_VAR_{name}" in env:
            problems.append(Problem(
                "VariableFromEnvironment",
                f"TF_VAR_{name} is set in the environment and no variable file sets "
                f"var.{name}: Terraform would use the environment's value, which the gate does "
                "not read; put the value in a variable file and pass it with --var-file",
                address=f"var.{name}"))
    return Declared(blocks=module.blocks, problems=tuple(problems), origin=path,
                    inputs=DeclaredInputs(
                        var_files=tuple(v.shown for v in values),
                        hidden_var_files=tuple(_join(path, n) for n in files.hidden_var_files),
                        overrides=tuple(_join(path, n) for n in files.overrides),
                        overridden=tuple(overridden),
                        ignored=tuple(_join(path, n) for n in files.ignored)))
