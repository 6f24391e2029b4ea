"""Read a plan rendered by ``terraform show -json PLANFILE`` into :class:`Declared`.

Planned values are taken as evaluated by Terraform (modules, ``count`` and ``for_each``
expanded, variables applied). A value Terraform marks unknown in ``after_unknown`` is resolved
only when its configuration expression is a single reference that :mod:`.resolve` can answer
(``kms_master_key_id = aws_kms_key.weights.arn``); otherwise it stays UNKNOWN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aslcheck.errors import BadInputError, Location
from aslcheck.inventories.terraform.declared import (
    UNKNOWN,
    Block,
    Body,
    Declared,
    Provider,
    _Unknown,
    split_traversal,
)
from aslcheck.inventories.terraform.policy import document_from_data
from aslcheck.inventories.terraform.resolve import reference


def _overlay(value: Any, mask: Any) -> Any:
    """``value`` with every position ``mask`` marks unknown replaced by UNKNOWN."""
    if mask is True:
        return UNKNOWN
    if isinstance(mask, Mapping) and isinstance(value, Mapping):
        return {k: _overlay(v, mask.get(k)) for k, v in value.items()} | {
            k: UNKNOWN for k, m in mask.items() if m is True and k not in value}
    if isinstance(mask, list) and isinstance(value, list):
        return [_overlay(v, mask[i] if i < len(mask) else None) for i, v in enumerate(value)]
    if isinstance(value, float):
        return int(value) if value.is_integer() else UNKNOWN
    if isinstance(value, Mapping):
        return {k: _overlay(v, None) for k, v in value.items()}
    if isinstance(value, list):
        return [_overlay(v, None) for v in value]
    return value


class PlanBody(Body):
    """Planned values of one resource or nested block, with its unknown mask and expressions."""

    def __init__(self, values: Mapping[str, Any], mask: Any, exprs: Any, plan: Plan) -> None:
        self._values = values
        self._mask = mask if isinstance(mask, Mapping) else {}
        self._exprs = exprs if isinstance(exprs, Mapping) else {}
        self._plan = plan

    def has(self, name: str) -> bool:
        """Whether the plan sets ``name`` (to a value or to an unknown one)."""
        return self._values.get(name) is not None or self._mask.get(name) is True

    def get(self, name: str, default: Any = None) -> Any:
        """The planned value (an unknown one resolved through its expression when possible)."""
        if self._mask.get(name) is True:
            return self._plan.from_expression(self._exprs.get(name))
        value = self._values.get(name)
        if value is None:
            return default
        return _overlay(value, self._mask.get(name))

    def blocks(self, name: str) -> list[Body] | _Unknown:
        """Nested blocks."""
        if self._mask.get(name) is True:
            return UNKNOWN
        raw = self._values.get(name)
        if raw is None:
            return []
        if isinstance(raw, Mapping):
            raw = [raw]
        if not isinstance(raw, list) or any(not isinstance(b, Mapping) for b in raw):
            return UNKNOWN
        masks = self._mask.get(name)
        exprs = self._exprs.get(name)
        out: list[Body] = []
        for i, b in enumerate(raw):
            m = masks[i] if isinstance(masks, list) and i < len(masks) else masks
            e = exprs[i] if isinstance(exprs, list) and i < len(exprs) else exprs
            out.append(PlanBody(b, m, e, self._plan))
        return out


class Plan:
    """A parsed plan document."""

    def __init__(self, doc: Mapping[str, Any], shown: str) -> None:
        self.shown = shown
        config = doc.get("configuration") or {}
        self._provider_cfg: Mapping[str, Any] = config.get("provider_config") or {}
        self._config_resources: dict[str, Mapping[str, Any]] = {}
        self._walk_config(config.get("root_module") or {}, "")
        self._changes = {c["address"]: c for c in doc.get("resource_changes") or []
                         if isinstance(c, Mapping) and "address" in c}
        raws: list[Mapping[str, Any]] = []
        _walk_values((doc.get("planned_values") or {}).get("root_module") or {}, raws)
        prior = ((doc.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
        data: list[Mapping[str, Any]] = []
        _walk_values(prior, data)
        seen = {r.get("address") for r in raws}
        raws.extend(r for r in data if r.get("mode") == "data" and r.get("address") not in seen)
        self.blocks = tuple(self._block(r) for r in raws)
        self._by_address = {b.address: b for b in self.blocks}
        # Unindexed lookups (aws_kms_key.k) find the only instance of an unexpanded resource.
        for b in self.blocks:
            base = b.address.split("[", 1)[0]
            self._by_address.setdefault(base, b)

    def _walk_config(self, module: Mapping[str, Any], prefix: str) -> None:
        for res in module.get("resources") or []:
            self._config_resources[prefix + str(res.get("address"))] = res
        for name, call in (module.get("module_calls") or {}).items():
            self._walk_config(call.get("module") or {}, f"{prefix}module.{name}.")

    def provider(self, key: str) -> Provider:
        """Provider configuration by key (``aws``, ``aws.west``, ``module.m:aws``)."""
        cfg = self._provider_cfg.get(key) or self._provider_cfg.get(key.rsplit(":", 1)[-1]) or {}
        exprs = cfg.get("expressions") or {}
        region = (exprs.get("region") or {}).get("constant_value")
        ids = (exprs.get("allowed_account_ids") or {}).get("constant_value")
        account = ids[0] if isinstance(ids, list) and len(ids) == 1 else None
        return Provider(account=account if isinstance(account, str) else None,
                        region=region if isinstance(region, str) else None, default_tags={})

    def _block(self, raw: Mapping[str, Any]) -> Block:
        address = str(raw["address"])
        base = address.split("[", 1)[0]
        cfg = self._config_resources.get(_strip_indexes(base), {})
        change = (self._changes.get(address) or {}).get("change") or {}
        mask = change.get("after_unknown") if raw.get("mode") == "managed" else {}
        values = raw.get("values") or {}
        return Block(
            mode=str(raw.get("mode")), type=str(raw["type"]), name=str(raw["name"]),
            address=address, file=self.shown, start_line=None, end_line=None,
            body=PlanBody(values, mask, cfg.get("expressions"), self),
            provider=self.provider(str(cfg.get("provider_config_key", "aws"))))

    def lookup(self, address: str) -> Block | None:
        """A block by address."""
        return self._by_address.get(address)

    def from_expression(self, expr: Any) -> Any:
        """Resolve an unknown value from its configuration expression, when it is one reference."""
        if not isinstance(expr, Mapping):
            return UNKNOWN
        if "constant_value" in expr:
            return expr["constant_value"]
        refs = [r for r in expr.get("references") or [] if isinstance(r, str)]
        full = [r for r in refs if not any(o != r and o.startswith(r + ".") for o in refs)]
        if len(full) != 1:
            return UNKNOWN
        return reference(split_traversal(full[0]), self.lookup, document_from_data)


def _strip_indexes(address: str) -> str:
    return ".".join(p.split("[", 1)[0] for p in address.split("."))


def _walk_values(module: Mapping[str, Any], out: list[Mapping[str, Any]]) -> None:
    out.extend(r for r in module.get("resources") or [] if isinstance(r, Mapping)
               and "address" in r and "type" in r and "name" in r)
    for child in module.get("child_modules") or []:
        _walk_values(child, out)


def load_plan(path: str) -> Declared:
    """Parse a ``terraform show -json`` document; unreadable or malformed -> BadInputError."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise BadInputError(f"cannot read plan: {exc.strerror}", Location(path)) from exc
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"plan is not valid JSON: {exc}",
                            Location(path, getattr(exc, "lineno", None))) from exc
    if not isinstance(doc, dict) or "format_version" not in doc or "planned_values" not in doc:
        raise BadInputError("not a Terraform plan: expected the output of "
                            "'terraform show -json PLANFILE' (format_version, planned_values)",
                            Location(path, 1))
    try:
        plan = Plan(doc, path.replace("\\", "/"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise BadInputError(f"malformed plan document: {type(exc).__name__}: {exc}",
                            Location(path)) from exc
    return Declared(blocks=plan.blocks, origin=path)
