"""YAML loading that remembers where every value came from, for file:line error messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from aslcheck.errors import BadInputError, Location

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    """Parsed YAML plus the line of every mapping key and sequence item."""

    data: Any
    """Plain Python data (dicts, lists, scalars)."""
    file: str
    """File it came from."""
    lines: Mapping[Path, int]
    """1-based line of each path; the empty path is the document."""

    def where(self, path: Path) -> Location:
        """Location of ``path``, falling back to its nearest located ancestor."""
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return Location(self.file, self.lines.get(probe, 1), dotted(path) or None)


def dotted(path: Path) -> str:
    """``("controls", 3, "checks")`` -> ``controls[3].checks``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader whose dates stay strings, so schemas and our own parser see one type."""


_UniqueKeyLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise BadInputError("YAML merge keys (<<) are not supported",
                                    Location(file, key_node.start_mark.line + 1))
            key = _UniqueKeyLoader(" ").construct_object(key_node)  # scalar keys only
            if not isinstance(key, (str, int)):
                raise BadInputError("mapping keys must be strings",
                                    Location(file, key_node.start_mark.line + 1))
            if key in out:
                raise BadInputError(f"duplicate key {key!r}",
                                    Location(file, key_node.start_mark.line + 1, dotted(path + (key,))))
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, path + (key,), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    return _UniqueKeyLoader(" ").construct_object(node)


def load_yaml(file: str, text: str | None = None) -> Located:
    """Parse one YAML document from ``file`` (or ``text``) with line information."""
    if text is None:
        try:
            with open(file, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise BadInputError(f"cannot read file: {exc.strerror}", Location(file)) from exc
        except UnicodeDecodeError as exc:
            raise BadInputError("not UTF-8 text", Location(file)) from exc
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise BadInputError(f"not valid YAML: {exc.problem or exc}", Location(file, line)) from exc
    except yaml.YAMLError as exc:
        raise BadInputError(f"not valid YAML: {exc}", Location(file)) from exc
    if node is None:
        raise BadInputError("the file is empty", Location(file, 1))
    lines: dict[Path, int] = {}
    try:
        data = _walk(node, (), lines, file)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise BadInputError(f"not valid YAML: {exc.problem}",
                            Location(file, mark.line + 1 if mark else None)) from exc
    return Located(data=data, file=file, lines=lines)


def validate(doc: Located, schema: Mapping[str, Any], what: str) -> None:
    """Validate against a JSON Schema; the first error names file, line and field."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc.data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    err = _most_specific(errors[0])
    path: Path = tuple(err.absolute_path)
    message = err.message
    if err.validator == "additionalProperties":
        # NOTE: name the unknown key itself and point at its line, not the parent's.
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if extra:
            path = path + (extra[0],)
            message = f"unknown key {extra[0]!r}"
            allowed = sorted(err.schema.get("properties", {}))
            if allowed:
                message += f" (expected one of: {', '.join(allowed)})"
    raise BadInputError(f"invalid {what}: {message}", doc.where(path))


def _most_specific(err: Any) -> Any:
    # oneOf/anyOf errors hide the useful leaf in their context; pick the deepest.
    best = err
    for sub in getattr(err, "context", None) or ():
        cand = _most_specific(sub)
        if len(cand.absolute_path) > len(best.absolute_path):
            best = cand
    return best
