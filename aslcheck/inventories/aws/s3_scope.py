"""Scope-driven S3 collection: read every bucket's listing and tags, and deeply only what a check needs.

Stages (each starts when the previous one's last read finishes; only the log buckets wait
for the collector's next phase, since they need the trails):

1. ``ListBuckets`` (names, and ``BucketRegion`` where AWS gives it; ``GetBucketLocation``
   per bucket where it does not).
2. Tags: one paginated ``tag:GetResources`` (``ResourceTypeFilters=["s3"]``) per region that
   holds buckets. AWS's tag index lists every tagged (or once tagged) resource, so a bucket
   missing from its region's answer is untagged. Where the call fails in a region, the tags
   of that region's buckets are read with ``s3:GetBucketTagging`` instead; the failure stays
   visible as an error of kind :data:`TAG_INDEX`, which no check reads (nothing is missing).
3. Deep reads (every per-bucket ``Get*``) of the buckets a check could judge: those that may
   hold weights (:func:`may_hold_weights`) and their replication destinations (to a fixpoint: a
   replica of weight storage is weight storage), all while the other services collect; then,
   in the collector's next phase, the log buckets of the collected trails.
4. Finally every other bucket becomes a shallow resource (name, region, tags) recorded in the run's
   ``shallow`` list, so no check can take it as evidence.

With ``CollectionRequest.deep`` (``scan --deep``) none of this happens: every bucket is read
deeply, as :func:`aslcheck.inventories.aws.s3.plan` always did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from aslcheck.controls.config import Scope
from aslcheck.inventories.aws.context import (
    Deferred,
    NotConfigured,
    Outcome,
    Target,
    Task,
    errors_for,
)
from aslcheck.inventories.aws.normalise import tag_list
from aslcheck.inventories.aws.readonly import ReadOnlyViolation
from aslcheck.inventories.snapshot import CollectionError, Resource

BUCKET = "aws.s3.bucket"
TRAIL = "aws.cloudtrail.trail"
TAG_OPERATION = "resourcegroupstaggingapi:GetResources"
"""The tag index read (IAM action ``tag:GetResources``)."""
TAG_INDEX = "aws.s3.tag_index"
"""Kind of the error recorded when the tag index failed in a region and per-bucket
``GetBucketTagging`` replaced it: visible, but no check reads this kind."""

DeepRead = Callable[[Target, str, "str | None", "dict[str, str] | None"], Outcome]
"""``s3._bucket`` with known tags: (target, name, region, tags) -> outcome."""


def may_hold_weights(scope: Scope, name: str, arn: str, tags: Mapping[str, str] | None) -> bool:
    """Whether the weight scope could put this bucket in scope directly: never narrower.

    Mirrors :meth:`Scope.holds_weights` as the weight-storage closure applies it to a bucket
    (its ARN, then ``arn:aws:s3:::NAME``), counting "undecided" (tags unknown) as yes; the bare
    name is tried too, for patterns written without the ARN prefix. Replicas are added by the
    caller (they depend on the deep read).
    """
    return any(scope.holds_weights(tags, ident) is not False
               for ident in (arn, f"arn:aws:s3:::{name}", name))


def log_bucket_names(resources: Sequence[Resource]) -> frozenset[str]:
    """Names of the buckets the collected trails deliver to (their protection is judged)."""
    return frozenset(str(r.attributes["s3_bucket"]) for r in resources
                     if r.kind == TRAIL and isinstance(r.attributes.get("s3_bucket"), str))


def _replica_names(resource: Resource) -> list[str]:
    rep = resource.attributes.get("replication")
    dests = rep.get("destinations") if isinstance(rep, Mapping) else None
    out = []
    for dest in dests if isinstance(dests, list) else ():
        arn = dest.get("bucket") if isinstance(dest, Mapping) else None
        if isinstance(arn, str):
            out.append(arn.rpartition(":::")[2] if ":::" in arn else arn)
    return out


@dataclass
class BucketScan:
    """What one account's S3 scan knows; shared by its tasks (each update under the lock).

    Stages chain without waiting for the rest of the collection: the last location read starts
    the tag reads, the last tag read starts the weight buckets' deep reads. Only the log
    buckets wait for the phase to end (the trails must have been collected).
    """

    target: Target
    scope: Scope
    deep_read: DeepRead
    """Reads one bucket deeply."""
    regions: dict[str, str | None] = field(default_factory=dict)
    """Listed bucket name -> region (``None``: unknown)."""
    tags: dict[str, Any] = field(default_factory=dict)
    """Bucket name -> tags (``None``: could not be read; absent: not yet read)."""
    deep: set[str] = field(default_factory=set)
    """Buckets claimed for a deep read."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _open: int = 0
    """Reads of the current stage still running."""
    _next: Callable[[], Outcome] = field(default=Outcome)
    """Starts the next stage."""

    def arn(self, name: str) -> str:
        return f"arn:{self.target.partition}:s3:::{name}"

    def _counted(self, read: Callable[[], Outcome]) -> Outcome:
        """Run one read of the stage; it counts as finished even if it crashes."""
        try:
            return read()
        except ReadOnlyViolation:
            raise
        except Exception as exc:  # noqa: BLE001 - the stage must still end (see _outcome)
            return self._done(Outcome(
                errors=errors_for("aslcheck:s3-scope", BUCKET, None, "CollectorFailure",
                                  f"{type(exc).__name__}: {exc}", account=self.target.account,
                                  region="global"), incomplete={BUCKET}))

    def _done(self, out: Outcome, more: int = 0) -> Outcome:
        """Count one read of the stage as finished (``more`` started); the last starts the next."""
        with self.lock:
            self._open += more - 1
            last = self._open == 0
        if last:
            nxt = self._next()
            out.followups.extend(nxt.followups)
            out.deferred.extend(nxt.deferred)
        return out

    # -- stage 1: regions ------------------------------------------------------------------------

    def start(self, locate: Callable[[BucketScan, str], Outcome]) -> Outcome:
        """Location reads where the listing gave no region, then the tags."""
        unknown = [n for n, r in sorted(self.regions.items()) if r is None]
        if not unknown:
            return self.plan_tags()
        self._open = len(unknown)
        self._next = self.plan_tags
        return Outcome(followups=[
            Task(self.target.label(f"s3:GetBucketLocation {n}", "global"),
                 partial(self._counted, partial(lambda n: self._done(locate(self, n)), n)),
                 frozenset({BUCKET}))
            for n in unknown])

    # -- stage 2: tags ---------------------------------------------------------------------------

    def plan_tags(self) -> Outcome:
        """One tag-index task per region holding buckets; per-bucket tags where unknown."""
        by_region: dict[str, list[str]] = {}
        tasks = []
        for name, region in sorted(self.regions.items()):
            if region is None:
                # NOTE: the tag index is regional; without the region, ask the bucket itself.
                tasks.append(self._tagging_task(name))
            else:
                by_region.setdefault(region, []).append(name)
        for region, names in sorted(by_region.items()):
            tasks.append(Task(self.target.label("tag:GetResources s3", region),
                              partial(self._counted, partial(self._tag_index, region, names)),
                              frozenset({BUCKET})))
        if not tasks:
            return self.plan_weights()
        with self.lock:
            self._open = len(tasks)
            self._next = self.plan_weights
        return Outcome(followups=tasks)

    def _tagging_task(self, name: str) -> Task:
        return Task(self.target.label(f"s3:GetBucketTagging {name}", "global"),
                    partial(self._counted, partial(self._bucket_tags, name)),
                    frozenset({BUCKET}))

    def _tag_index(self, region: str, names: list[str]) -> Outcome:
        rd = self.target.reader({TAG_OPERATION}, error_region=region)
        listed = rd.paginate(TAG_OPERATION, "ResourceTagMappingList", TAG_INDEX,
                             region=region, ResourceTypeFilters=["s3"],
                             ResourcesPerPage=100)  # the maximum: 10 calls per 1,000 buckets
        got = None
        if isinstance(listed, list):
            answer = listed
            got = rd.parse(TAG_OPERATION, TAG_INDEX, None, lambda: {
                str(item["ResourceARN"]): tag_list(item.get("Tags") or []) for item in answer})
        if got is None:
            # Denied, throttled, skipped or unparsable: each bucket's own tags instead.
            out = Outcome(errors=[_fallback_note(e) for e in rd.errors],
                          followups=[self._tagging_task(n) for n in names])
            return self._done(out, more=len(names))
        found = got.value
        with self.lock:
            for name in names:
                # NOTE: a bucket the index does not list was never tagged (AWS lists every
                # tagged or once-tagged resource); moto answers every region alike, so only
                # this region's buckets are taken from this region's answer.
                self.tags[name] = found.get(self.arn(name), {})
        return self._done(Outcome())

    def _bucket_tags(self, name: str) -> Outcome:
        from aslcheck.inventories.aws.s3 import OPERATIONS

        arn = self.arn(name)
        region = self.regions.get(name)
        rd = self.target.reader(OPERATIONS[BUCKET], error_region=region or "global")
        op = "s3:GetBucketTagging"
        answer = rd.call(op, BUCKET, arn, region=region, expected=("NoSuchTagSet",), Bucket=name)
        tags: dict[str, str] | None = None
        if isinstance(answer, NotConfigured):
            tags = {}
        elif answer is not None:
            got = rd.parse(op, BUCKET, arn, lambda: tag_list(answer["TagSet"]))
            tags = got.value if got else None
        with self.lock:
            self.tags[name] = tags
        return self._done(Outcome(errors=rd.errors))

    # -- stage 3: deep reads -------------------------------------------------------------------

    def plan_weights(self) -> Outcome:
        """Deep reads of the buckets that may hold weights; the log buckets once trails are in."""
        tasks = []
        for name in sorted(self.regions):
            if may_hold_weights(self.scope, name, self.arn(name), self.tags.get(name)):
                task = self._claim(name, True)
                if task is not None:
                    tasks.append(task)
        return Outcome(followups=tasks, deferred=[
            Deferred(self.target.label("s3: log buckets", "global"), self.plan_logs,
                     frozenset({BUCKET}))])

    def plan_logs(self, collected: Sequence[Resource]) -> Outcome:
        """Deep reads of the collected trails' log buckets; then the rest, shallow."""
        tasks = [t for name in sorted(log_bucket_names(collected))
                 if (t := self._claim(name, False)) is not None]
        return Outcome(followups=tasks, deferred=[
            Deferred(self.target.label("s3: shallow buckets", "global"), self.emit_shallow,
                     frozenset({BUCKET}))])

    def _claim(self, name: str, weight: bool) -> Task | None:
        with self.lock:
            if name not in self.regions or name in self.deep:
                return None
            self.deep.add(name)
        return Task(self.target.label(f"s3:{name}", "global"),
                    partial(self._deep, name, weight), frozenset({BUCKET}))

    def _deep(self, name: str, weight: bool) -> Outcome:
        out = self.deep_read(self.target, name, self.regions.get(name), self.tags.get(name))
        if weight:
            # A replica of (possibly) weight storage is (possibly) weight storage: read it too.
            for res in out.resources:
                for dest in _replica_names(res):
                    task = self._claim(dest, True)
                    if task is not None:
                        out.followups.append(task)
        return out

    # -- stage 4: the rest, shallow ------------------------------------------------------------

    def emit_shallow(self, _: Sequence[Resource]) -> Outcome:
        """Every listed bucket not read deeply, with only what the listing and tags gave."""
        resources = []
        for name, region in sorted(self.regions.items()):
            if name in self.deep:
                continue
            attrs: dict[str, Any] = {"name": name}
            if region is not None:
                attrs["region"] = region
            resources.append(Resource(kind=BUCKET, id=self.arn(name), source="aws",
                                      attributes=attrs, tags=self.tags.get(name),
                                      account=self.target.account, region=region))
        return Outcome(resources=resources, shallow={BUCKET: {r.id for r in resources}})


def _fallback_note(err: CollectionError) -> CollectionError:
    return replace(err, kind=TAG_INDEX, message=f"{err.message} (bucket tags of this region "
                   "read with s3:GetBucketTagging instead)")


