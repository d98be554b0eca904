"""``rlworks mdp``: solve, learn, simulate and plot the chapter's MDPs and Markov chains.

``SPEC`` is a bundled example (``book``, the chapter's 3-state MDP; ``book-chain``, its 4-state
Markov chain), a YAML/JSON file describing an MDP, or a Gymnasium id whose environment exposes a
transition table (FrozenLake-v1, Taxi-v4, CliffWalking-v1). In JSON output, the Q-values of
impossible actions (the chapter's ``-inf``) are ``null``; ``valid`` gives the action mask.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlworks.cli_args import add_json, add_overrides

__all__ = ["add_mdp_parser", "cmd_mdp"]

EPILOG = """\
examples:
  rlworks mdp solve book --gamma 0.9 --json
  rlworks mdp solve book --gamma 0.95 --iterations 50
  rlworks mdp solve FrozenLake-v1 --gamma 0.99 --method policy
  rlworks mdp learn book --algo q-learning --steps 10000 --alpha0 0.05 --decay 0.005 \\
      --exploration random --gamma 0.9
  rlworks mdp learn FrozenLake-v1 --algo sarsa --steps 200000 --n-envs 8
  rlworks mdp simulate book-chain --runs 10 --seed 42
  rlworks mdp plot --out q_value_plot.png

SPEC is book, book-chain, an MDP file (YAML/JSON with transition_probabilities, rewards and
optionally possible_actions, terminal_states, initial_state, states, actions, gamma), or a
Gymnasium id with a transition table (FrozenLake-v1, FrozenLake8x8-v1, Taxi-v4, CliffWalking-v1).
In --json output the Q-values of impossible actions (-inf) are null.
"""

ALGOS = ("q-learning", "sarsa", "expected-sarsa", "td0")


def add_mdp_parser(sub: Any) -> None:
    """Add ``rlworks mdp`` and its sub-commands to the top-level sub-parsers."""
    mdp = sub.add_parser(
        "mdp",
        help="Markov chains and MDPs: solve, learn, simulate, plot",
        description="Plan and learn on tabular MDPs: value / Q-value / policy iteration, "
        "TD(0), Q-learning and SARSA, Markov chain simulation, the chapter's Q-value figure.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = mdp.add_subparsers(dest="mdp_command", metavar="SUBCOMMAND", required=True)

    p = cmds.add_parser(
        "solve",
        help="value / Q-value / policy iteration",
        description="Solve an MDP exactly: V, Q, the greedy policy, iterations and whether it "
        "converged (|change| < --tol). With --iterations N exactly N sweeps are run.",
    )
    p.add_argument("spec", metavar="SPEC", help="book, an MDP file, or an env id with P")
    p.add_argument("--gamma", type=float, help="discount factor (default: the MDP's, else 0.9)")
    p.add_argument("--method", choices=["value", "q-value", "policy"], default="q-value")
    p.add_argument("--iterations", type=int, help="run exactly N iterations (the chapter: 50)")
    p.add_argument("--tol", type=float, default=1e-10, help="stop when max |change| < TOL")
    p.add_argument("--max-iterations", type=int, default=10_000, help="iteration cap")
    add_json(p)

    p = cmds.add_parser(
        "learn",
        help="TD(0), Q-learning, SARSA without knowing the model",
        description="Learn Q-values (or V for td0) from experience and, when the model is "
        "known, compare them with the exact solution. Defaults come from the bundled preset "
        "(for book: the chapter's 10,000 steps, alpha0 0.05, decay 0.005, random exploration, "
        "gamma 0.9).",
    )
    p.add_argument("spec", metavar="SPEC", help="book, an MDP file, or a discrete env id")
    p.add_argument(
        "--algo",
        choices=ALGOS,
        default="q-learning",
        help="learner (td0 predicts V of the random policy; default q-learning)",
    )
    p.add_argument("--steps", type=int, help="environment steps (default: preset's, book 10,000)")
    p.add_argument("--seed", type=int, default=0, help="seeds the environments and the agent")
    p.add_argument("--n-envs", type=int, help="parallel environment copies (default: preset, 1)")
    p.add_argument("--gamma", type=float, help="discount factor (default: preset's, else 0.99)")
    p.add_argument("--alpha0", type=float, help="initial learning rate")
    p.add_argument("--decay", type=float, help="power schedule: alpha0 / (1 + t * decay)")
    p.add_argument(
        "--learning-rate",
        choices=["constant", "power", "visits", "logarithmic"],
        help="alpha0; alpha0 / (1 + t * decay); 1 / N(s, a); max(min, 1 - log10((t+1)/25))",
    )
    p.add_argument(
        "--exploration",
        choices=["random", "epsilon", "bonus"],
        help="random actions, epsilon-greedy, or greedy on Q + k / (1 + N)",
    )
    p.add_argument(
        "--max-episode-steps",
        type=int,
        help="time limit (default: none for book and MDP files, as in the chapter; for env ids "
        "the preset's, else the env's own)",
    )
    add_overrides(p, "any other tabular setting (see `rlworks config q-learning`)")
    p.add_argument("--save", metavar="FILE", help="write the trained agent's checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json(p)

    p = cmds.add_parser(
        "simulate",
        help="run a Markov chain and print its state sequences",
        description="Run a Markov chain from --start until a terminal state (or --max-steps) "
        "and print each run's states, like the chapter.",
    )
    p.add_argument("spec", metavar="CHAIN", help="book-chain")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--start", type=int, default=0, help="start state")
    p.add_argument("--max-steps", type=int, default=1000, help="cut runs longer than this")
    p.add_argument(
        "--legacy-rng",
        action="store_true",
        help="draw with numpy's legacy RandomState(SEED), as the chapter's np.random.seed does",
    )
    add_json(p)

    p = cmds.add_parser(
        "plot",
        help="the chapter's figure: Q(s0, a0) under Q-value iteration vs Q-learning",
        description="Draw Q(s0, a0) over Q-value iteration sweeps and over Q-learning steps, "
        "with the true value dashed (Figure 18-9).",
    )
    p.add_argument("spec", metavar="SPEC", nargs="?", default="book")
    p.add_argument("--out", default="q_value_plot.png", help="output PNG")
    p.add_argument("--gamma", type=float, default=0.9)
    p.add_argument("--iterations", type=int, default=50, help="Q-value iteration sweeps")
    p.add_argument("--steps", type=int, default=10_000, help="Q-learning steps")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--alpha0", type=float, default=0.05)
    p.add_argument("--decay", type=float, default=0.005)
    p.add_argument("--state", type=int, default=0)
    p.add_argument("--action", type=int, default=0)
    add_json(p)


def cmd_mdp(
    args: argparse.Namespace, emit: Callable[[argparse.Namespace, dict[str, Any], str], None]
) -> int:
    """Run ``rlworks mdp SUBCOMMAND``."""
    handlers = {"solve": _solve, "learn": _learn, "simulate": _simulate, "plot": _plot}
    payload, human = handlers[args.mdp_command](args)
    emit(args, payload, human)
    return 0


# --------------------------------------------------------------------------- solve
def _solve(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import sys

    from rlworks.mdp import load_mdp, solve

    mdp = load_mdp(args.spec)
    gamma = _default_gamma(args.gamma, mdp)
    start = time.perf_counter()
    result = solve(
        mdp,
        gamma,
        method=args.method,
        tol=args.tol,
        max_iterations=args.max_iterations,
        iterations=args.iterations,
    )
    wall = time.perf_counter() - start
    if not result.converged and args.iterations is None:
        if gamma == 1.0 and args.method == "policy":
            hint = (
                "; at gamma = 1 policy iteration needs every policy it tries to reach a terminal "
                "state, and its first (the first possible action everywhere) may not: try "
                "--method value"
            )
        elif gamma == 1.0:
            hint = "; with gamma = 1 the values of an MDP that never terminates grow without bound"
        else:
            hint = "; raise --max-iterations or --tol"
        print(
            f"warning: {args.method} iteration did not converge in {result.iterations} "
            f"iterations (max |change| still >= {args.tol:g}){hint}",
            file=sys.stderr,
        )
    payload = {
        "mdp": mdp.name,
        "states": list(mdp.state_names),
        "actions": list(mdp.action_names),
        **result.to_json(),
        "wall_s": round(wall, 6),
    }
    status = "converged" if result.converged else "not converged"
    human = "\n".join(
        [
            f"{mdp.name}: {args.method} iteration, gamma {gamma:g}, {result.iterations} "
            f"iterations ({status}), {wall * 1000:.1f} ms",
            _table(mdp, result.Q, result.V, result.policy),
        ]
    )
    return payload, human


def _default_gamma(gamma: float | None, mdp: Any) -> float:
    if gamma is not None:
        return gamma
    return float(mdp.default_gamma) if mdp.default_gamma is not None else 0.9


def _table(mdp: Any, q: Any, v: Any, policy: Any, limit: int = 40) -> str:
    """Q-values per state (``-inf`` shown as ``-``), V and the greedy action, as text."""
    actions = list(mdp.action_names)
    width = max(9, *(len(a) for a in actions))
    head = f"{'state':>8} " + " ".join(f"{a:>{width}}" for a in actions) + f" {'V':>9}  greedy"
    lines = [head]
    for s in range(min(mdp.n_states, limit)):
        cells = " ".join(
            f"{'-':>{width}}" if q[s, a] == float("-inf") else f"{q[s, a]:>{width}.4f}"
            for a in range(len(actions))
        )
        lines.append(f"{mdp.state_names[s]:>8} {cells} {v[s]:>9.4f}  {actions[int(policy[s])]}")
    if mdp.n_states > limit:
        lines.append(f"... {mdp.n_states - limit} more states (use --json for all)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- learn
def _learn(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from rlworks.agents import get_algorithm

    env_id, mdp = _learn_target(args.spec)
    if args.save and _is_mdp_file(args.spec):
        from rlworks.errors import ConfigError

        raise ConfigError(
            "--save needs an environment id to reload the agent with; an agent learned on an "
            f"MDP file ({args.spec}) cannot be saved (use book or a Gymnasium id)"
        )
    cls = get_algorithm(args.algo)
    config, train = _learn_config(args, cls, env_id)
    env = _learn_env(args.spec, env_id, mdp, train, seed=args.seed)
    try:
        agent: Any = cls(env, config, seed=args.seed, device="cpu")
        wall, episodes = _drive(agent, train["steps"], quiet=args.quiet)
        if args.save:
            agent.save(args.save)
    finally:
        env.close()
    payload: dict[str, Any] = {
        "mdp": env_id,
        "algo": args.algo,
        "steps": agent.steps,
        "episodes": episodes,
        "n_envs": train["n_envs"],
        "seed": args.seed,
        "wall_s": round(wall, 3),
        "steps_per_s": round(agent.steps / wall, 1) if wall > 0 else 0.0,
        "config": {k: v for k, v in vars(config).items() if not k.startswith("discretize")},
    }
    payload.update(_learned_tables(agent, mdp, config.gamma))
    human = _learn_summary(agent, payload, mdp)
    return payload, human


def _learn_target(spec: str) -> tuple[str, Any]:
    """The id used for presets and output, and the model when it is known."""
    from rlworks.envs.registry import resolve_env_id
    from rlworks.errors import ConfigError, EnvError
    from rlworks.mdp import TabularMDP, load_mdp

    if spec == "book":
        return "rlworks/BookMDP-v0", load_mdp(spec)
    if _is_mdp_file(spec):
        return spec, load_mdp(spec)
    try:
        resolve_env_id(spec)
    except EnvError:
        load_mdp(spec)  # raises the error that lists every accepted SPEC form
        raise
    try:
        return spec, TabularMDP.from_env(spec)
    except ConfigError:
        return spec, None  # no transition table: learn without comparing to the exact solution


def _is_mdp_file(spec: str) -> bool:
    return Path(spec).suffix.lower() in (".yaml", ".yml", ".json")


def _learn_env(spec: str, env_id: str, mdp: Any, train: dict[str, Any], *, seed: int) -> Any:
    from rlworks.envs.make import make_env
    from rlworks.mdp import TabularMDPEnv

    if spec != "book" and not _is_mdp_file(spec):
        return make_env(
            env_id,
            train["n_envs"],
            seed=seed,
            max_episode_steps=train["max_episode_steps"],
            vectorization=train["vectorization"],
        )
    # The chapter's MDP (or a file's) as one continuing trajectory: no time limit unless asked.
    env = make_env(
        lambda: TabularMDPEnv(mdp),
        train["n_envs"],
        seed=seed,
        max_episode_steps=train["max_episode_steps"],
    )
    if spec == "book":
        env.env_id = "rlworks/BookMDP-v0"  # so that a saved agent reloads on the registered env
    return env


def _learn_config(args: argparse.Namespace, cls: Any, env_id: str) -> tuple[Any, dict[str, Any]]:
    """Agent settings (preset ← --set ← flags) and the run's steps, n_envs and time limit."""
    from rlworks.config import config_from_dict, find_preset, load_yaml, parse_overrides
    from rlworks.errors import ConfigError

    preset = find_preset(None, args.algo, env_id)
    data = load_yaml(preset) if preset is not None else {}
    values = dict(data.get("agent") or {})
    values.update(parse_overrides(args.overrides))
    flags = {
        "gamma": args.gamma,
        "alpha0": args.alpha0,
        "decay": args.decay,
        "learning_rate": args.learning_rate,
        "exploration": args.exploration,
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    if args.algo == "td0":
        values.pop("exploration", None)
        if args.exploration not in (None, "random"):
            raise ConfigError(
                "td0 predicts the values of the random policy; --exploration must be random, "
                f"got {args.exploration}"
            )
    config = config_from_dict(cls.config_cls, values, source="command line")
    preset_train = data.get("train") or {}
    is_book = env_id == "rlworks/BookMDP-v0"
    train = {
        "steps": args.steps if args.steps is not None else preset_train.get("steps", 10_000),
        "n_envs": args.n_envs if args.n_envs is not None else preset_train.get("n_envs", 1),
        "vectorization": preset_train.get("vectorization", "auto"),
        "max_episode_steps": args.max_episode_steps
        if args.max_episode_steps is not None or is_book
        else preset_train.get("max_episode_steps"),
    }
    for key in ("steps", "n_envs", "max_episode_steps"):
        value = train[key]
        if value is not None and int(value) < 1:
            raise ConfigError(f"--{key.replace('_', '-')} must be >= 1, got {value}")
    return config, train


def _drive(agent: Any, steps: int, *, quiet: bool) -> tuple[float, int]:
    """Run the agent's learning for ``steps`` steps; returns (wall seconds, episodes ended)."""
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from rlworks.training.driver import Driver

    driver = Driver(agent.env, agent.collect_policy, agent.observers)
    chunk = max(1_000, steps // 100)
    show = not quiet and sys.stderr.isatty() and steps >= 50_000
    start = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{agent.algo} steps", total=steps)
        while driver.total_steps < steps:
            driver.run(num_steps=min(chunk, steps - driver.total_steps))
            agent.check_finite()
            progress.update(task, completed=driver.total_steps)
    return time.perf_counter() - start, driver.total_episodes


def _learned_tables(agent: Any, mdp: Any, gamma: float) -> dict[str, Any]:
    """Learned table and greedy policy, plus the exact solution and the error when known."""
    import numpy as np

    from rlworks.mdp import policy_evaluation, solve, uniform_policy

    out: dict[str, Any] = {}
    if agent.table_kind == "v":
        out["V"] = agent.values.tolist()
        if mdp is not None and gamma < 1:  # at gamma = 1 the values may not exist
            random_policy = uniform_policy(mdp)
            exact_v = policy_evaluation(mdp, random_policy, gamma, method="solve")
            out["exact_V"] = np.asarray(exact_v).tolist()
            out["max_abs_error"] = float(np.abs(agent.values - exact_v).max())
        return out
    q = agent.q_values
    out["Q"] = [[None if np.isneginf(x) else float(x) for x in row] for row in q]
    out["policy"] = agent.greedy_policy().tolist()
    exact = solve(mdp, gamma, method="q-value") if mdp is not None else None
    if exact is not None and exact.converged:  # else there are no exact values to compare with
        valid = mdp.valid
        out["optimal_Q"] = exact.to_json()["Q"]
        out["optimal_policy"] = exact.policy.tolist()
        out["policy_is_optimal"] = _same_policy(exact.Q, agent.greedy_policy(), valid, mdp.terminal)
        out["max_abs_error"] = float(np.abs(q[valid] - exact.Q[valid]).max())
    return out


def _same_policy(q_star: Any, policy: Any, valid: Any, terminal: Any) -> bool:
    """Every greedy action of ``q`` is optimal under ``q_star`` (ties count as optimal)."""
    import numpy as np

    decides = valid.any(axis=1) & ~terminal  # states where the choice matters
    best = np.where(valid, q_star, -np.inf).max(axis=1)
    chosen = q_star[np.arange(len(policy)), policy]
    return bool(np.all(np.isclose(chosen, best, rtol=0, atol=1e-9)[decides]))


def _short(items: list[Any], limit: int = 40) -> str:
    shown = ", ".join(str(x) for x in items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"


def _learn_summary(agent: Any, payload: dict[str, Any], mdp: Any) -> str:
    import numpy as np

    lines = [
        f"{payload['algo']} on {payload['mdp']}: {payload['steps']:,} steps, "
        f"{payload['episodes']:,} episodes, {payload['wall_s']:.2f} s "
        f"({payload['steps_per_s']:,.0f} steps/s), seed {payload['seed']}"
    ]
    if agent.table_kind == "v":
        lines.append("V = " + ", ".join(f"{v:.4f}" for v in payload["V"][:20]))
        if "exact_V" in payload:
            lines.append(
                "exact V of the random policy = "
                + ", ".join(f"{v:.4f}" for v in payload["exact_V"][:20])
            )
    else:
        if mdp is not None:
            q = agent.q_values
            v = np.where(np.isneginf(q).all(axis=1), 0.0, q.max(axis=1))  # no action: V = 0
            lines.append(_table(mdp, q, v, agent.greedy_policy()))
        if "policy_is_optimal" in payload:
            verdict = "optimal" if payload["policy_is_optimal"] else "NOT optimal"
            lines.append(f"greedy policy {_short(payload['policy'])} is {verdict} "
                         f"(optimal {_short(payload['optimal_policy'])})")  # fmt: skip
        else:
            lines.append(f"greedy policy: {_short(payload['policy'])}")
    if "max_abs_error" in payload:
        lines.append(f"max |learned - exact| = {payload['max_abs_error']:.4f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- simulate
def _simulate(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import numpy as np

    from rlworks.errors import ConfigError
    from rlworks.mdp import MarkovChain, get_example

    chain = get_example(args.spec)
    if not isinstance(chain, MarkovChain):
        raise ConfigError(
            f"{args.spec!r} is an MDP, not a Markov chain; simulate takes book-chain "
            "(use `rlworks mdp learn` or `solve` for MDPs)"
        )
    if args.runs < 1 or args.max_steps < 1:
        raise ConfigError(f"--runs and --max-steps must be >= 1, got {args.runs}, {args.max_steps}")
    if not 0 <= args.start < chain.n_states:
        raise ConfigError(f"--start must be a state 0-{chain.n_states - 1}, got {args.start}")
    rng: Any = (
        np.random.RandomState(args.seed) if args.legacy_rng else np.random.default_rng(args.seed)
    )
    runs = [chain.simulate(args.start, rng, max_steps=args.max_steps) for _ in range(args.runs)]
    lines = [
        f"Run #{k + 1}: " + " ".join(str(s) for s in run.states) + ("" if run.ended else " ...")
        for k, run in enumerate(runs)
    ]
    payload = {
        "chain": args.spec,
        "seed": args.seed,
        "legacy_rng": bool(args.legacy_rng),
        "runs": [[int(s) for s in run.states] for run in runs],
        "ended": [bool(run.ended) for run in runs],
    }
    return payload, "\n".join(lines)


# --------------------------------------------------------------------------- plot
def _plot(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import numpy as np

    from rlworks.agents import QLearning, TabularConfig
    from rlworks.envs.make import make_env
    from rlworks.errors import ConfigError
    from rlworks.mdp import TabularMDPEnv, load_mdp, solve
    from rlworks.training.driver import Driver
    from rlworks.viz.qvalues import plot_q_convergence

    mdp = load_mdp(args.spec)
    if not (0 <= args.state < mdp.n_states and 0 <= args.action < mdp.n_actions):
        raise ConfigError(
            f"--state/--action ({args.state}, {args.action}) outside the MDP's "
            f"{mdp.n_states} states x {mdp.n_actions} actions"
        )
    if args.iterations < 1 or args.steps < 1:
        raise ConfigError("--iterations and --steps must be >= 1")
    planned = solve(
        mdp, args.gamma, method="q-value", iterations=args.iterations, record_history=True
    )
    exact = solve(mdp, args.gamma, method="q-value")
    if not exact.converged:
        raise ConfigError(
            f"Q-value iteration does not converge on {args.spec} with gamma {args.gamma:g}, so "
            "there is no true value to draw; use gamma < 1"
        )
    true_value = float(exact.Q[args.state, args.action])
    env = make_env(lambda: TabularMDPEnv(mdp), 1, seed=args.seed)
    config = TabularConfig(
        gamma=args.gamma,
        alpha0=args.alpha0,
        decay=args.decay,
        exploration="random",
        learning_rate="power",
    )
    agent = QLearning(env, config, seed=args.seed, device="cpu")
    history: list[Any] = []
    driver = Driver(
        env,
        agent.collect_policy,
        [*agent.observers, lambda _: history.append(agent.q_values.copy())],
    )
    history.append(agent.q_values.copy())
    driver.run(num_steps=args.steps)
    env.close()
    learned = np.array(history)  # [steps, S, A]
    assert planned.history is not None
    plot_q_convergence(
        planned.history, learned, true_value, args.out, state=args.state, action=args.action
    )
    final = float(learned[-1, args.state, args.action])
    payload = {
        "out": str(args.out),
        "true_value": true_value,
        "q_value_iteration_final": float(planned.history[-1, args.state, args.action]),
        "q_learning_final": final,
        "steps": len(learned) - 1,
        "iterations": int(args.iterations),
    }
    human = (
        f"wrote {args.out}: Q(s{args.state}, a{args.action}) true {true_value:.4f}, "
        f"Q-value iteration {payload['q_value_iteration_final']:.4f} after "
        f"{args.iterations} iterations, Q-learning {final:.4f} after {len(learned) - 1:,} "
        "steps"
    )
    return payload, human
