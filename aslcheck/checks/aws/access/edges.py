"""Ways to become a principal other than ``sts:AssumeRole`` (issue 10, class 2).

- a role: rewrite its trust policy and assume it (``iam:UpdateAssumeRolePolicy``); pass it to a
  service its trust policy admits and launch that service (``iam:PassRole`` plus
  ``ec2:RunInstances``, ``lambda:CreateFunction``, ``ecs:RunTask``...); run commands on an
  instance whose profile holds it (``ssm:StartSession``, ``ssm:SendCommand``,
  ``ec2-instance-connect:SendSSHPublicKey``); change the code of a function that runs as it
  (``lambda:UpdateFunctionCode``); enter a task that runs as it (``ecs:ExecuteCommand``);
- a user: obtain its credentials (``iam:CreateAccessKey``, ``iam:CreateLoginProfile``,
  ``iam:UpdateLoginProfile``).

Service principals in trust policies are entry points: their reach is followed through the
edges above. Where the snapshot cannot show who drives a service (IAM Roles Anywhere
certificate holders; services whose resources are not inventoried and whose trust statement
pins no ``aws:SourceArn``/``aws:SourceAccount``; instances or functions not collected), the
entry is a *conditional* edge from an invisible principal or from every holder of the action:
the finding is then ERROR, never PASS, unless the roster admits it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from aslcheck.checks.aws.access.actions import (
    ECS_EXEC,
    IAM_PASS_ROLE,
    IAM_TRUST_REWRITE,
    IAM_USER_CREDENTIALS,
    LAMBDA_CODE,
    SSM_SHELLS,
)
from aslcheck.checks.aws.access.admits import SOURCE_KEYS, is_restricting
from aslcheck.checks.aws.access.model import Principal, PrincipalKind, Request
from aslcheck.checks.aws.access.policy import Effect, Statement
from aslcheck.checks.aws.access.routes import Edge, Toolkit
from aslcheck.inventories.snapshot import Snapshot

INSTANCE = "aws.ec2.instance"
FUNCTION = "aws.lambda.function"

_LAUNCHES: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "ec2.amazonaws.com": (("ec2:RunInstances",), ("ec2:AssociateIamInstanceProfile",),
                          ("ec2:ReplaceIamInstanceProfileAssociation",)),
    "lambda.amazonaws.com": (("lambda:CreateFunction",), ("lambda:UpdateFunctionConfiguration",)),
    "ecs-tasks.amazonaws.com": (("ecs:RegisterTaskDefinition", "ecs:RunTask"),
                                ("ecs:RegisterTaskDefinition", "ecs:StartTask"),
                                ("ecs:RegisterTaskDefinition", "ecs:CreateService"),
                                ("ecs:RegisterTaskDefinition", "ecs:UpdateService")),
    "s3.amazonaws.com": (("s3:PutReplicationConfiguration",),),
}
"""Services whose launch is modelled: passing the role plus one of these conjunctions runs code
(or a copy job) as the role."""

INVENTORIED = frozenset({"ec2.amazonaws.com", "lambda.amazonaws.com"})
"""Services whose running resources the snapshot lists (instances, functions)."""

REPLICATION_SERVICES = frozenset({"s3.amazonaws.com", "batchoperations.s3.amazonaws.com"})
"""Services that read objects as a role through ``s3:GetObjectVersionForReplication``."""


PASS_ROLE_GATED = frozenset({
    *_LAUNCHES, "ecs.amazonaws.com", "batch.amazonaws.com", "sagemaker.amazonaws.com",
    "glue.amazonaws.com", "codebuild.amazonaws.com", "states.amazonaws.com",
    "cloudformation.amazonaws.com", "elasticmapreduce.amazonaws.com", "datapipeline.amazonaws.com",
    "eks.amazonaws.com", "scheduler.amazonaws.com", "events.amazonaws.com", "pipes.amazonaws.com",
    "firehose.amazonaws.com", "batchoperations.s3.amazonaws.com", "build.apprunner.amazonaws.com",
    "tasks.apprunner.amazonaws.com", "ssm.amazonaws.com", "backup.amazonaws.com",
})
"""Services that act as a role only after a principal of its account passed it (``iam:PassRole``)."""

EXTERNAL_ENTRY: Mapping[str, str] = {
    "rolesanywhere.amazonaws.com": "holders of certificates from IAM Roles Anywhere trust anchors",
}
"""Services through which people outside AWS IAM obtain the role."""

def pins_source(st: Statement) -> bool:
    """Whether the statement limits the calling service to named resources or accounts."""
    return any(is_restricting(c, SOURCE_KEYS) for c in st.conditions)


@dataclass(frozen=True)
class ServiceEntry:
    """A service principal a trust policy admits."""

    service: str
    """The service principal."""
    pinned: bool
    """Whether every admitting statement pins ``aws:SourceArn``/``aws:SourceAccount``."""


def service_entries(tk: Toolkit, role: str) -> tuple[ServiceEntry, ...]:
    """Service principals the role's trust policy admits for ``sts:AssumeRole``."""
    trust = tk.d.trusts.get(role)
    if trust is None or trust.policy is None:
        return ()
    found: dict[str, bool] = {}
    for st in trust.policy.statements:
        if st.effect is not Effect.ALLOW or st.principal is None or st.problems:
            continue
        if not st.action_matches("sts:assumerole"):
            continue
        for svc in st.principal.services:
            found[svc] = found.get(svc, True) and pins_source(st)
    return tuple(ServiceEntry(s, pinned) for s, pinned in sorted(found.items()))


class Compute:
    """Instances and functions of the snapshot by the role they run as, and whether listed fully."""

    def __init__(self, snapshot: Snapshot, tk: Toolkit) -> None:
        listed = snapshot.kinds_collected()
        errs = {e.kind for e in snapshot.errors if e.resource is None}
        self.instances_listed = INSTANCE in listed and INSTANCE not in errs and None not in errs
        self.functions_listed = FUNCTION in listed and FUNCTION not in errs and None not in errs
        self.instances: dict[str, list[tuple[str, str | None, str | None]]] = {}
        for inst in snapshot.of_kind(INSTANCE):
            prof = inst.attributes.get("instance_profile")
            roles = tk.d.profile_roles.get(str(prof), ()) if isinstance(prof, str) else ()
            if isinstance(prof, str) and prof not in tk.d.profile_roles:
                self.instances_listed = False  # a profile we cannot resolve to roles
            state = inst.attributes.get("state")
            for r in roles:
                self.instances.setdefault(r, []).append(
                    (inst.id, inst.account, state if isinstance(state, str) else None))
        self.functions: dict[str, list[tuple[str, str | None]]] = {}
        for fn in snapshot.of_kind(FUNCTION):
            role = fn.attributes.get("role")
            if isinstance(role, str):
                self.functions.setdefault(role, []).append((fn.id, fn.account))
            else:
                self.functions_listed = False


def role_edges(tk: Toolkit, compute: Compute, role: Principal, trust: Request
               ) -> Iterator[tuple[Principal, Edge]]:
    """Candidates that may become ``role`` other than by assuming it, with the edge to confirm.

    ``trust`` is the role's ``sts:AssumeRole`` request (its trust policy as resource policy).
    """
    acct = role.account
    part = tk.partition(role)
    rewrite = tk.iam(IAM_TRUST_REWRITE, role.id, acct)
    for c in tk.holders(IAM_TRUST_REWRITE, role.id, acct):
        if c.kind is not PrincipalKind.ROOT and c.id != role.id:  # the root user cannot assume roles
            yield c, Edge("rewrites the trust policy of (iam:UpdateAssumeRolePolicy) and assumes", ((rewrite,),))
    for entry in service_entries(tk, role.id):
        svc = entry.service
        passing = tk.iam(IAM_PASS_ROLE, role.id, acct, context={"iam:passedtoservice": (svc,)},
                         variant=f"pass:{svc}")
        launches = _LAUNCHES.get(svc)
        if launches is not None:
            needs = tuple((passing, *(tk.launch(a, acct, part) for a in conj)) for conj in launches)
            what = " or ".join(" + ".join(conj) for conj in launches)
            edge = Edge(f"passes it to {svc} (iam:PassRole + {what}) and so becomes", needs)
        else:
            edge = Edge(f"passes it to {svc} (iam:PassRole) and so may become", ((passing,),),
                        (f"{svc} is started with {role.id} (launch permissions of {svc} are not modelled)",))
        for c in tk.holders(IAM_PASS_ROLE, role.id, acct):
            yield c, edge
        yield from _running(tk, compute, role, svc)
        hidden = EXTERNAL_ENTRY.get(svc)
        if hidden is None and svc not in INVENTORIED and not entry.pinned:
            hidden = (f"whoever drives {svc} resources that run as {role.id} (not in the snapshot; the trust "
                      "policy pins no aws:SourceArn/aws:SourceAccount)")
        if hidden is not None:
            yield tk.d.service(svc), Edge("is trusted by the trust policy of", ((trust,),),
                                          (f"{svc}: {hidden}",))


def _running(tk: Toolkit, compute: Compute, role: Principal, svc: str) -> Iterator[tuple[Principal, Edge]]:
    """Edges through resources already running as the role."""
    part = tk.partition(role)
    if svc == "ec2.amazonaws.com":
        for inst, inst_acct, state in compute.instances.get(role.id, ()):
            reqs = tuple((tk.iam(a, inst, inst_acct),) for a in SSM_SHELLS)
            extra = () if state in (None, "running") else (f"instance {inst} is {state}: only once it runs",)
            edge = Edge(f"runs commands on instance {inst} ({' or '.join(SSM_SHELLS)}), whose profile holds", reqs,
                        extra)
            seen: set[str] = set()
            for a in SSM_SHELLS:
                for c in tk.holders(a, inst, inst_acct):
                    if c.id not in seen:
                        seen.add(c.id)
                        yield c, edge
        if not compute.instances_listed:
            yield from _unlisted(tk, role, SSM_SHELLS, f"arn:{part}:ec2:", "instances were not listed completely")
    elif svc == "lambda.amazonaws.com":
        for fn, fn_acct in compute.functions.get(role.id, ()):
            reqs = tuple((tk.iam(a, fn, fn_acct),) for a in LAMBDA_CODE)
            edge = Edge(f"changes the code of function {fn} ({' or '.join(LAMBDA_CODE)}), which runs as", reqs)
            seen = set()
            for a in LAMBDA_CODE:
                for c in tk.holders(a, fn, fn_acct):
                    if c.id not in seen:
                        seen.add(c.id)
                        yield c, edge
        if not compute.functions_listed:
            yield from _unlisted(tk, role, LAMBDA_CODE, f"arn:{part}:lambda:",
                                 "functions were not listed completely")
    elif svc == "ecs-tasks.amazonaws.com":
        yield from _unlisted(tk, role, (*ECS_EXEC, "ecs:RunTask", "ecs:StartTask"), f"arn:{part}:ecs:",
                             "ECS tasks and task definitions are not collected")


def _unlisted(tk: Toolkit, role: Principal, actions: tuple[str, ...], prefix: str, why: str
              ) -> Iterator[tuple[Principal, Edge]]:
    acct = role.account
    reqs = tuple((tk.iam(a, prefix, acct, prefix=True),) for a in actions)
    edge = Edge(f"may use a resource running as ({' or '.join(actions)}); {why}:", reqs,
                (f"a resource not in the snapshot runs as {role.id} ({why})",))
    seen: set[str] = set()
    for a in actions:
        for c in tk.holders(a, prefix, acct, prefix=True):
            if c.id not in seen:
                seen.add(c.id)
                yield c, edge


def user_edges(tk: Toolkit, user: Principal) -> Iterator[tuple[Principal, Edge]]:
    """Candidates that may obtain ``user``'s credentials."""
    acct = user.account
    reqs = tuple((tk.iam(a, user.id, acct),) for a in IAM_USER_CREDENTIALS)
    edge = Edge(f"obtains credentials ({' or '.join(IAM_USER_CREDENTIALS)}) of", reqs)
    seen: set[str] = set()
    for a in IAM_USER_CREDENTIALS:
        for c in tk.holders(a, user.id, acct):
            if c.id not in seen and c.id != user.id:
                seen.add(c.id)
                yield c, edge
