"""ModelRollouts that finish on the real cluster: the operator Pod, KServe's logger, real Prometheus, real traffic.

A stack of its own (namespace ``tipsml-rollout``) with nine tip-scorer replicas in KServe Standard mode, so the
replica-ratio canary makes its 10 % step exactly (one candidate Pod beside nine) and its 50 % step (nine beside
nine) (``operators.canary_split``). ``tipsml play``'s player runs through every test in a thread: it calls the
scorer Service (a connection per request), shows the top tip and publishes ``tip_shown`` / ``tip_reaction``
drawn from the simulator's oracle, so the rewards the canary gate reads are real reactions to what each version
served. The shadow phase's rank agreement comes from the shadow scorer pairing KServe's logger CloudEvents (the
agent sidecar built from the pinned KServe module).

The champion is the model a team would have shipped before tip statistics were an input: the pipeline's own
training set and parameters without ``tip_like_rate``. The challenger is the pipeline's model with every input,
better on held-out AUC; both are printed.

No request may fail while Pods are replaced (at most 1 %, for a blip): predictor Pods drain before they stop
(``kserve.drainSeconds``), and a scorer without KServe's agent also answers on the agent's port, where KServe
points the Service the moment the shadow phase sets the logger (before that fix, about half the player's
connections were refused for the ~40 s of that roll). The failures per phase are printed.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import mlflow
import pytest

from contracts.names import CHAMPION_ALIAS, SCORER_MODEL
from operators.canary_route import canary_weight, route_mechanism
from operators.canary_split import canary_replicas
from operators.rollout_effects import deployment_pending
from tests.cluster.rollout_support import (
    LEFT_OUT,
    NS,
    OPERATOR,
    RERANKS,
    SHARE_TOLERANCE,
    STABLE_REPLICAS,
    STEPS,
    Ablation,
    Traffic,
    follow,
    left_steps,
    registry,
    rollout_body,
    status_of,
)
from tests.cluster.stack_support import (
    VALUES,
    WORLD,
    Stack,
    get_json,
    install_stack,
    pods,
    wait_consumed,
    wait_events,
)
from tipsml.cluster.node import NodeCluster
from tipsml.simulate import simulate
from tipsml.simulate.publish import publish_events


@pytest.fixture(scope="module")
def ablation() -> Ablation:
    """What the champion left out, and both models' held-out AUC once the stack is installed."""
    return Ablation()


@pytest.fixture(scope="module")
def stack(node_cluster: NodeCluster, tmp_path_factory: pytest.TempPathFactory, ablation: Ablation) -> Iterator[Stack]:
    """The stack with the rollout values and the champion without tip stats; its namespace deleted afterwards."""
    work = tmp_path_factory.mktemp("rollout-train")
    previous = mlflow.get_tracking_uri()
    try:
        installed = install_stack(node_cluster, NS, work, [VALUES / "tipsml.yaml", VALUES / "rollout.yaml"],
                                  10 + STABLE_REPLICAS, champion=ablation.register,
                                  dependencies=VALUES / "rollout-dependencies.yaml")  # fmt: skip
    finally:
        mlflow.set_tracking_uri(previous)
    # The app's history: the world's events through the consumers into Redis, so the scorer sees real
    # user and tip features (without them every candidate scores the same and no ranking can agree).
    started = time.monotonic()
    world = simulate(users=WORLD.users, days=WORLD.days, seed=WORLD.seed)
    asyncio.run(publish_events(world.events, installed.nats))
    wait_consumed(installed.nats)
    installed.timings["world's events consumed"] = time.monotonic() - started
    for phase, seconds in installed.timings.items():
        print(f"rollout stack: {phase} {seconds:.1f}s")
    yield installed
    node_cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


@pytest.fixture(scope="module")
def traffic(stack: Stack) -> Iterator[Traffic]:
    """The app's requests and reactions, flowing for the whole module."""
    running = Traffic(stack)
    yield running
    running.stop()


def _split_serving(stack: Stack, canary_pods: int) -> bool:
    """Every canary Pod ready and the predictor's own Pods settled: the share is the step's from here."""
    found = get_json(stack.cluster, "deployments", "-n", NS, "-l", "tipsml.io/track=canary")["items"]
    stable = get_json(stack.cluster, "deployment", "tip-scorer-predictor", "-n", NS)
    return bool(found) and found[0]["spec"]["replicas"] == canary_pods and not any(
        deployment_pending(d) for d in (found[0], stable)
    )


def _ready_endpoints(stack: Stack) -> tuple[int, int]:
    """(stable, canary) Pods the predictor Service sends new connections to right now."""
    slices = get_json(stack.cluster, "endpointslices", "-n", NS, "-l",
                      "kubernetes.io/service-name=tip-scorer-predictor")["items"]  # fmt: skip
    names = {e["targetRef"]["name"] for s in slices for e in s.get("endpoints") or []
             if (e.get("conditions") or {}).get("ready") and e.get("targetRef")}  # fmt: skip
    canary = sum(n.startswith("tip-scorer-predictor-canary-") for n in names)
    return len(names) - canary, canary


def test_a_better_challenger_goes_through_shadow_and_both_canary_steps_to_promoted(
    stack: Stack, traffic: Traffic, ablation: Ablation
) -> None:
    """The pipeline's model, better than the champion on held-out data, passes every gate on real traffic."""
    models = registry(stack)
    candidate = stack.trained_version
    print("held-out AUC: " + ", ".join(f"{k} {v:.4f}" for k, v in ablation.auc.items()))
    assert ablation.auc["every input"] > ablation.auc["without " + LEFT_OUT], ablation.auc
    # Rolled back only once the challenger is shown more than 0.1 worse at 95 %; a draw that shows neither that
    # nor that it is within 0.1 waits for more rewards.
    stack.cluster.kubectl("apply", "-f", "-", input=json.dumps(rollout_body("good", str(candidate), 0.1, RERANKS)))
    serving: set[int] = set()  # step weights whose split this loop saw in place
    killed = ""
    endpoints: dict[int, list[tuple[int, int]]] = {}  # step weight -> (stable, canary) ready endpoints, sampled

    def each(phase: str, weight: int) -> None:
        nonlocal killed
        if phase == "Canary" and _split_serving(stack, canary_replicas(weight, STABLE_REPLICAS)):
            serving.add(weight)
            endpoints.setdefault(weight, []).append(_ready_endpoints(stack))
        if phase == "Canary" and weight == STEPS[0] and not killed and weight in serving:
            # Every operator replica at once: no standby takes over, the Deployment's new Pods resume.
            killed = ", ".join(p["metadata"]["name"] for p in pods(stack.cluster, NS, OPERATOR))
            stack.cluster.kubectl("delete", "pods", "-n", NS, "-l", OPERATOR, "--wait=false")
            print(f"  deleted the operator Pods {killed} mid-canary")

    followed = follow(stack, "good", each)
    status, phases, opened, started = followed.status, followed.phases, followed.opened, followed.started
    marks = sorted(phases.items(), key=lambda kv: kv[1])
    for (label, at), (_, end) in zip(marks, [*marks[1:], ("end", time.time())], strict=True):
        failed = sum(at <= t < end for t in traffic.report.failed_at)
        print(f"  requests failed during {label}: {failed}")
    refused = sum(t >= started for t in traffic.report.failed_at)
    attempted = refused + sum(s.at >= started for s in traffic.report.served)
    print(get_json(stack.cluster, "modelrollout", "good", "-n", NS)["status"].get("lastAnalysis"))
    print(stack.cluster.kubectl("get", "modelrollouts", "-n", NS).stdout)
    print("served by version so far (requests, positive rate, p99 latency ms): "
          f"{traffic.report.by_version()}")  # fmt: skip
    assert status.get("phase") == "Promoted", status
    stack.champion_version = str(candidate)  # for the next test, whatever is asserted below
    assert refused <= 0.01 * attempted, f"{refused} of {attempted} requests failed: {traffic.report.last_error}"
    assert killed, "the rollout never reached a serving canary step"
    assert status["trafficMechanism"].startswith("Standard: replica ratio"), status
    # Each step's share over the window its gates judged: from the operator's window start to the pass that
    # left the step (the history entry's time is that pass's, before it deleted or resized anything). A poll
    # of this loop is seconds apart on the busy node, so its own view of the split would be too coarse.
    left = left_steps(status)
    assert set(opened) == set(left) == set(STEPS), (opened, left)
    for weight in STEPS:
        since, until = opened[weight], left[weight]
        share, n = traffic.report.share(str(candidate), since, until)
        print(f"canary {weight}%: candidate served {share:.1%} of {n} requests ({traffic.report.errors} failed "
              f"in the module so far{': ' + traffic.report.last_error if traffic.report.errors else ''})")
        seen = sorted(set(endpoints.get(weight, [])))
        print(f"  window {until - since:.1f}s; ready endpoints (stable, canary) seen while the split served: {seen}")
        assert n >= 30 and abs(share - weight / 100) <= SHARE_TOLERANCE * weight / 100, (weight, share, n)
    assert models.get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS).version == str(candidate)
    listed = stack.cluster.kubectl("get", "modelrollouts", "-n", NS).stdout
    assert "PHASE" in listed and "STEP" in listed and "TRAFFIC" in listed and "Promoted" in listed
    # The champion serves the candidate everywhere; no canary Deployment or shadow is left.
    assert not get_json(stack.cluster, "deployments", "-n", NS, "-l", "tipsml.io/track=canary")["items"]
    assert not [i for i in get_json(stack.cluster, "inferenceservices", "-n", NS)["items"]
                if i["metadata"]["name"].endswith("-shadow")]  # fmt: skip
    from operators.model_registry import ChampionRegistry

    card = ChampionRegistry(stack.mlflow, "model_card/model_card.json").model_card(SCORER_MODEL, str(candidate))
    assert any(m["to_version"] == str(candidate) and m["rollout"] == f"{NS}/good"
               for m in card.get("alias_history", [])), card.get("alias_history")  # fmt: skip


def test_a_challenger_trained_on_shuffled_labels_is_rolled_back_by_its_gates(
    stack: Stack, traffic: Traffic, ablation: Ablation
) -> None:
    # The install's training split with its labels shuffled, registered by hand: the pipeline's fairness gate
    # would stop this model before the registry; here it is the rollout's gates that must catch it (a team that
    # lowered the training gate, or a model registered by hand).
    worse = ablation.register_shuffled_labels(stack.mlflow)
    stack.cluster.kubectl("apply", "-f", "-", input=json.dumps(rollout_body("worse", worse, 0.02)))
    started = time.time()
    status: dict[str, Any] = {}
    while time.time() - started < 600:
        status = status_of(stack, "worse")
        if status.get("phase") in ("Promoted", "RolledBack", "Failed"):
            break
        time.sleep(2)
    print(f"shuffled-label challenger: {status.get('phase')} after {time.time() - started:.1f}s: "
          f"{status.get('message')}; last analysis {status.get('lastAnalysis')}")  # fmt: skip
    assert status.get("phase") == "RolledBack", status
    analysis = status["lastAnalysis"]
    assert not analysis["passed"] and analysis["reasons"], analysis
    assert registry(stack).get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS).version == stack.champion_version
    wait_events(stack.cluster, NS, "worse", lambda e: e["type"] == "Warning" and e["reason"] == "RolledBack")
    traffic_seen = traffic.report.by_version()
    print(f"served by version over the module: {traffic_seen}")
    assert worse not in traffic_seen  # a shadow never answers users


ROUTE_SE = 3.0
"""A route step's measured share may differ from its weight by three binomial standard errors of the requests
in its window (plus one request): the Gateway picks a backend per request, so the share is the weight up to
sampling (Traefik's weighted round robin is smoother than that)."""


def test_a_canary_through_the_gateway_gets_each_steps_weight_of_requests(
    stack: Stack, traffic: Traffic, ablation: Ablation
) -> None:
    """``canary.trafficRouting.httpRoute``: nine stable Pods, one canary Pod at 10 %, five at 50 %, and the share
    is the route's weight for clients of the Gateway; the predictor's own Service keeps serving only the champion.

    The gates are loosened on purpose (any sound model passes): this test is about the split, the other two about
    the gates. The candidate is whichever of the two sound models is not the champion now.
    """
    champion = stack.champion_version
    candidate = ablation.version if champion != ablation.version else stack.trained_version
    body = rollout_body("routed", candidate, 1.0, {**RERANKS, "minRankAgreement": 0.0},
                        trafficRouting={"httpRoute": "tip-scorer"}, minSamples=60)  # fmt: skip
    through_gateway = Traffic(stack, service="gateway", seed=11)
    stack.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
    seen: list[tuple[float, int, int]] = []  # (when, step, the canary weight read off the HTTPRoute)

    def each(phase: str, weight: int) -> None:
        if phase == "Canary":
            route = get_json(stack.cluster, "httproute", "tip-scorer", "-n", NS)
            seen.append((time.time(), weight, canary_weight(route, "tip-scorer")))

    try:
        followed = follow(stack, "routed", each)
    finally:
        through_gateway.stop()
    status, opened = followed.status, followed.opened
    print(stack.cluster.kubectl("get", "modelrollouts", "-n", NS).stdout)
    report = through_gateway.report
    print(f"through the Gateway: {report.by_version()}; {report.errors} failed "
          f"{report.last_error if report.errors else ''}")  # fmt: skip
    assert status.get("phase") == "Promoted", status
    stack.champion_version = candidate
    assert status["trafficMechanism"] == route_mechanism("tip-scorer"), status
    attempted = len(report.failed_at) + len(report.served)
    failed = len(report.failed_at)
    assert failed <= 0.01 * attempted, f"{failed} of {attempted} requests failed: {report.last_error}"
    left = left_steps(status)
    assert set(opened) == set(left) == set(STEPS), (opened, left)
    for weight in STEPS:
        since, until = opened[weight], left[weight]
        weights = {w for at, step, w in seen if step == weight and since <= at < until}
        share, n = report.share(candidate, since, until)
        direct, m = traffic.report.share(candidate, since, until)
        bound = ROUTE_SE * math.sqrt(weight / 100 * (1 - weight / 100) / max(n, 1)) + 1 / max(n, 1)
        print(f"route {weight}%: candidate served {share:.1%} of {n} requests through the Gateway (bound "
              f"±{bound:.1%}), {direct:.1%} of {m} through the predictor's Service; route weights seen "
              f"{sorted(weights)}; window {until - since:.1f}s")  # fmt: skip
        assert n >= 100 and abs(share - weight / 100) <= bound, (weight, share, n)
        assert m >= 30 and direct == 0.0, (weight, direct, m)
        assert weights <= {weight}, weights  # the route had the step's weight for the whole window
    assert registry(stack).get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS).version == candidate
    route = get_json(stack.cluster, "httproute", "tip-scorer", "-n", NS)
    assert [r["name"] for rule in route["spec"]["rules"] for r in rule["backendRefs"]] == ["tip-scorer-predictor"]
    assert not get_json(stack.cluster, "deployments", "-n", NS, "-l", "tipsml.io/track=canary")["items"]
    assert not get_json(stack.cluster, "services", "-n", NS, "-l", "tipsml.io/track=canary")["items"]
