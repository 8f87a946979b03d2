"""Runs a candidate scheduling policy over a podpack instance inside the sandbox. Standard library only.

Two halves (``evaluators/lockstep.py``): ``drive`` holds the instance in the sandbox server and hands the policy
one pod at a time, in arrival order, checking every decision against the true cluster (``cluster.py``); ``play``
runs in the candidate's process, keeps a mirror of the cluster, offers the candidate's ``score`` every distinct
way to place the pod and answers with the best one. The decision log goes back, and the trusted verifier replays
it on its own copy of the instance.
"""

from problems.base import PolicyError
from problems.podpack.cluster import Cluster, Infeasible
from problems.podpack.views import ClusterView


def drive(data: dict):
    """The simulation of ``data`` (see ``lockstep``): yields each pod, is sent decisions, returns the log."""
    cluster = Cluster(data["nodes"], data["pods"])
    log = []
    for index, pod in enumerate(data["pods"]):
        decision = yield ({"nodes": data["nodes"]}, pod) if index == 0 else pod
        try:
            cluster.apply(index, decision)
        except Infeasible as exc:
            raise PolicyError(str(exc)) from None
        log.append(decision)
    return log


def play(candidate: object):
    """The policy's side (see ``lockstep``): for each pod observed, yields a decision, then pauses."""
    score = getattr(candidate, "score", None)
    if not callable(score):
        raise AttributeError("candidate defines no function score(pod, node, gpus, victims, cluster)")
    public, row = yield
    cluster = ClusterView(public["nodes"])
    while True:
        pod = cluster.arrive(row)
        decision = cluster.decide(pod, score)
        yield decision
        cluster.record(pod, decision)
        row = yield
