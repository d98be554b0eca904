"""The ``rlworks`` command: train, eval, record, plot, envs, check-env, config, mdp, bench.

Every command that reports numbers takes ``--json`` and then prints one JSON object as the last
line of standard output. Bad input exits with status 2 and a one-line ``error:`` message naming
the problem (the traceback only with ``--debug``); nothing half-written is left on disk.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlworks.cli_args import add_json, add_overrides

__all__ = ["build_parser", "main"]

EPILOG_TRAIN = """\
algorithms:
  policy search      random-search, genetic, cem
  policy gradients   reinforce
  deep Q-learning    dqn (presets: book, double, dueling, prioritized, rainbow, zoo;
                     ALE/Breakout-v5: book, the chapter's Breakout, and fast, the default)
  actor-critic       a2c, ppo (CartPole-v1, LunarLander-v3, Acrobot-v1, Pendulum-v1 presets)
  asynchronous       a3c (worker processes; --n-envs is per worker; CartPole-v1 preset)
  soft actor-critic  sac (continuous actions: Pendulum-v1, LunarLanderContinuous-v3 presets)
  imitation          bc
  tabular            q-learning, sarsa, expected-sarsa, td0

examples:
  rlworks train random-search CartPole-v1 --seed 0 --target-return 475
  rlworks train random-search CartPole-v1 --set episodes_per_candidate=5 --set eval_episodes=20
  rlworks train reinforce CartPole-v1 --preset book     # the chapter's settings (reinforce-book)
  rlworks train bc CartPole-v1 --set teacher=basic
  rlworks train dqn CartPole-v1 --preset rainbow       # double+PER+dueling+n-step+C51+noisy
  rlworks train dqn CartPole-v1 --set double=true --set dueling=mean
  rlworks train dqn ALE/Breakout-v5 --preset book      # the chapter's Breakout (1M buffer, 7.4 GB)
  rlworks train dqn ALE/Breakout-v5 --preset fast --set atari.noop_max=0
  rlworks train --resume runs/random-search-CartPole-v1-s0-...

Settings are resolved in this order (later wins): the algorithm's defaults, the preset (the
bundled one for ALGO and ENV unless --preset names another, see `rlworks config ALGO ENV`; a
short name NAME finds the bundled ALGO-ENV-NAME or ALGO-NAME),
--set KEY=VALUE (KEY may be prefixed with agent. or train.), then the explicit flags.

Atari: ALE ids (ALE/Breakout-v5) get the chapter's preprocessing (84x84 grayscale, frame
skip 4, up to 30 no-op starts, FIRE at reset, 4 stacked frames, rewards clipped to their sign)
unless the preset's atari section says otherwise: --set atari.KEY=VALUE changes one option (of
rlworks.envs.atari.AtariOptions), --set atari=false trains on the raw game. Evaluation,
`rlworks eval` and `rlworks record` play the same preprocessing with unclipped rewards, so
they report game scores. See docs/atari.md.
"""


EPILOG_BENCH = """\
protocol:
  Each CASE names the same hyperparameters in rlworks (a preset) and in Stable-Baselines3
  (constructor kwargs). Per seed, every run is its own process and the libraries alternate
  (rlworks first on even seeds, SB3 first on odd):
  throughput     the whole step budget, evaluation only at the end (first seed only unless
                 --throughput-seeds says otherwise); env steps/s = steps / training-loop clock
  time to solve  the whole command from process start to exit, evaluating the deterministic
                 policy every 5,000 steps on 20 episodes (episode k reset with seed+10000+k;
                 the case's eval_every and eval_episodes), stopping at the first mean >= the
                 case's target (475 on CartPole-v1); unsolved seeds count as +inf in the median
  Reports per seed and median: steps/s, time to solve, solved-at step, final eval, and the
  rlworks/SB3 ratios. Without Stable-Baselines3 (pip install 'rlworks[bench]') or with
  --no-sb3, rlworks runs alone and there are no ratios.

examples:
  rlworks bench --list
  rlworks bench dqn-cartpole                        # seeds 0-4, throughput on seed 0
  rlworks bench dqn-cartpole --seeds 0 1 --throughput-seeds 0 1 --no-docs
  rlworks bench all --out /tmp/bench --docs /tmp/bench.md --json

Writes OUT/CASE.json (every run's raw JSON, the machine, the medians and ratios) and replaces
the case's section, between <!-- bench:CASE:start --> and <!-- bench:CASE:end -->, of the docs
file (appended when missing). Progress goes to standard error.
"""


ATARI_RECORD_STEPS = 1_000
"""Agent steps ``rlworks record`` plays per Atari episode without ``--max-steps``."""
ATARI_FRAME_STRIDE = 2
"""Every how many screens ``rlworks record`` keeps one of an Atari game (a smaller GIF)."""
ATARI_RECORD_FPS = 15
"""Frames per second of Atari recordings: 2x real time with every 2nd screen of 4-frame steps."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rlworks`` command."""
    from rlworks._version import __version__

    parser = argparse.ArgumentParser(
        prog="rlworks",
        description="Reinforcement learning toolkit: train, evaluate, record and plot agents.",
    )
    parser.add_argument("--version", action="version", version=f"rlworks {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks instead of one-line errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # train
    p = sub.add_parser(
        "train",
        help="train an agent and write a run directory",
        description="Train ALGO on ENV. Writes config.yaml, metrics.csv, TensorBoard events, "
        "checkpoints/, eval.json and curve.png into the run directory.",
        epilog=EPILOG_TRAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("algo", nargs="?", help="algorithm, e.g. random-search (omit with --resume)")
    p.add_argument("env", nargs="?", help="Gymnasium environment id, e.g. CartPole-v1")
    p.add_argument("--steps", type=int, help="environment step budget")
    p.add_argument("--seed", type=int, help="seed for environments, NumPy and torch (default 0)")
    p.add_argument("--n-envs", type=int, help="parallel environment copies")
    p.add_argument("--preset", help="bundled preset name or YAML file")
    add_overrides(p, "override one setting (repeatable)")
    p.add_argument("--run-dir", help="run directory (default runs/ALGO-ENV-sSEED-TIME)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="network device")
    p.add_argument("--eval-every", type=int, help="evaluate every N steps (0: only at the end)")
    p.add_argument("--eval-episodes", type=int, help="episodes per evaluation")
    p.add_argument("--target-return", type=float, help="stop once evaluation reaches this mean")
    p.add_argument("--checkpoint-every", type=int, help="write a checkpoint every N steps")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json(p)

    # eval
    p = sub.add_parser(
        "eval",
        help="evaluate a trained agent or a hand-coded policy",
        description="Play whole episodes greedily and report mean, std, min and max return. "
        "Episode k starts from reset(seed=SEED+k).",
        epilog="examples:\n  rlworks eval --policy basic CartPole-v1 --episodes 500 --seed 42\n"
        "  rlworks eval runs/my-run --episodes 100\n"
        "  rlworks eval runs/breakout-run --episodes 10   # game scores (unclipped rewards)\n\n"
        "An Atari run is evaluated on its own preprocessing (frame stack, frame skip, no-op\n"
        "starts) without reward clipping, so returns are game scores.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", nargs="+", metavar="RUN_DIR|CHECKPOINT [ENV] | ENV")
    p.add_argument("--policy", choices=["basic", "random"], help="evaluate a hand-coded policy")
    p.add_argument("--episodes", type=int, default=100, help="episodes to play (default 100)")
    p.add_argument("--seed", type=int, default=0, help="episode k is reset with SEED+k")
    p.add_argument("--n-envs", type=int, default=8, help="parallel environments (same results)")
    p.add_argument(
        "--max-episode-steps",
        type=int,
        help="time limit per episode (default: the run's own, else the environment's)",
    )
    add_json(p)

    # record
    p = sub.add_parser(
        "record",
        help="render episodes of an agent to GIF or MP4",
        description="Render greedy episodes with render_mode=rgb_array and write an animation.",
        epilog="examples:\n  rlworks record runs/my-run --out cartpole.gif\n"
        "  rlworks record --policy basic CartPole-v1 --out basic.mp4\n"
        "  rlworks record runs/breakout-run --out breakout.gif --max-steps 2000\n\n"
        f"Atari games are recorded with the chapter's watch loop: the agent acts on its\n"
        f"preprocessed frames while the full-colour screens are kept; after a lost life the\n"
        f"game is reset and FIRE pressed. Each episode plays --max-steps steps (default\n"
        f"{ATARI_RECORD_STEPS:,}), keeping every {ATARI_FRAME_STRIDE}nd screen at "
        f"{ATARI_RECORD_FPS} fps unless --frame-stride/--fps say otherwise.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", nargs="+", metavar="RUN_DIR|CHECKPOINT [ENV] | ENV")
    p.add_argument("--policy", choices=["basic", "random"], help="record a hand-coded policy")
    p.add_argument("--out", help="output .gif or .mp4 (default RUN_DIR/episode.gif)")
    p.add_argument("--episodes", type=int, default=1, help="episodes to record (default 1)")
    p.add_argument("--seed", type=int, default=0, help="episode k is reset with SEED+k")
    p.add_argument("--fps", type=int, help="frames per second (default: the env's render_fps)")
    p.add_argument("--max-steps", type=int, help="stop each episode after this many steps")
    p.add_argument(
        "--frame-stride",
        type=int,
        help=f"keep every Nth frame (default {ATARI_FRAME_STRIDE} for Atari games, else 1)",
    )
    add_json(p)

    # plot
    p = sub.add_parser(
        "plot",
        help="plot learning curves of one or more runs to PNG",
        description="Draw training return and evaluation mean ± std against environment steps.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", help="output PNG (default RUN_DIR/curve.png for one run)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--target-return", type=float, help="draw a dashed line at this return")

    # envs
    p = sub.add_parser("envs", help="list available environment ids by family")
    p.add_argument("--family", help="only this family, e.g. classic-control or atari")
    add_json(p)

    # check-env
    p = sub.add_parser(
        "check-env",
        help="check that an environment follows the Gymnasium API",
        description="Run Gymnasium's checks plus rlworks' clearer ones on a registered id, a "
        "module:Class or a path/to/file.py:Class.",
    )
    p.add_argument("target", metavar="ENV_ID|MODULE:CLASS")
    add_json(p)

    # config
    p = sub.add_parser(
        "config",
        help="show an algorithm's settings, defaults, docs and preset",
        description="Print the resolved settings of ALGO (on ENV, with its bundled preset) as "
        "YAML, each field with its documentation.",
    )
    p.add_argument("algo")
    p.add_argument("env", nargs="?")
    p.add_argument("--preset", help="bundled preset name or YAML file")

    # bench
    p = sub.add_parser(
        "bench",
        help="benchmark rlworks against Stable-Baselines3 (same hyperparameters, same run)",
        description="Run benchmark CASEs: rlworks and Stable-Baselines3 with the same\n"
        "hyperparameters on this machine, alternating, and report env steps/s, time to solve\n"
        "and the rlworks/SB3 ratios. Without CASE, list the cases.",
        epilog=EPILOG_BENCH,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("cases", nargs="*", metavar="CASE", help="cases to run, or all")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2, 3, 4],
        metavar="SEED",
        help="seeds, each with a time-to-solve run per library (default 0 1 2 3 4)",
    )
    p.add_argument(
        "--throughput-seeds",
        type=int,
        nargs="*",
        metavar="SEED",
        help="seeds that also get a throughput run (default: the first seed; the flag alone: none)",
    )
    p.add_argument("--no-sb3", action="store_true", help="run rlworks alone")
    p.add_argument(
        "--out", default="benchmarks/results", help="folder for CASE.json (default %(default)s)"
    )
    docs = p.add_mutually_exclusive_group()
    docs.add_argument(
        "--docs",
        metavar="FILE",
        help="Markdown file whose CASE section is replaced (default docs/benchmarks.md when it "
        "exists)",
    )
    docs.add_argument("--no-docs", action="store_true", help="do not touch any docs file")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    add_json(p)

    from rlworks.cli_mdp import add_mdp_parser

    add_mdp_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rlworks`` command; returns the exit status."""
    from rlworks.errors import RLWorksError

    args = build_parser().parse_args(argv)
    try:
        handler = COMMANDS[args.command]
        return handler(args)
    except RLWorksError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if args.debug:
            raise
        where = f" {exc.filename!r}" if exc.filename else ""
        print(f"error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(_json_safe(payload)))
    else:
        print(human)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


# --------------------------------------------------------------------------- train
def _cmd_train(args: argparse.Namespace) -> int:
    from rlworks.training.rundir import create_run_dir, default_run_dir
    from rlworks.training.trainer import train

    if args.resume:
        return _resume(args)
    if not args.algo or not args.env:
        from rlworks.errors import ConfigError

        raise ConfigError("train needs ALGO and ENV (or --resume RUN_DIR)")
    run, train_config, agent_config, agent_cls = _resolve_settings(args)
    env = _make_train_env(run["env"], train_config, run.get("atari"))
    try:
        agent = agent_cls(env, agent_config, seed=train_config.seed, device=train_config.device)
    except BaseException:
        env.close()
        raise
    run_dir = (
        Path(args.run_dir)
        if args.run_dir
        else default_run_dir(run["algo"], run["env"], train_config.seed)
    )
    try:
        create_run_dir(run_dir, run)
        result = train(
            agent, train_config, run_dir=run_dir, progress=not args.quiet, run_config=run
        )
    finally:
        env.close()
    _report_train(args, result, train_config.target_return)
    return 0


def _resolve_settings(args: argparse.Namespace) -> tuple[dict[str, Any], Any, Any, Any]:
    """Defaults ← preset ← --set ← flags; every value validated before any work starts."""
    import dataclasses

    from rlworks.agents import get_agent_class, get_config_class
    from rlworks.config import (
        config_from_dict,
        config_to_dict,
        find_preset,
        load_yaml,
        preset_algos,
    )
    from rlworks.envs.registry import resolve_env_id
    from rlworks.errors import ConfigError
    from rlworks.training.trainer import TrainConfig

    config_cls = get_config_class(args.algo)  # not the agent yet: PPO's engine depends on it
    resolve_env_id(args.env)
    preset_path = find_preset(args.preset, args.algo, args.env)
    train_values: dict[str, Any] = {}
    agent_values: dict[str, Any] = {}
    atari: bool | dict[str, Any] | None = None
    if preset_path is not None:
        data = load_yaml(preset_path)
        source = str(preset_path)
        unknown = set(data) - {"algo", "env", "train", "agent", "atari", "description"}
        if unknown:
            raise ConfigError(
                f"{source}: unknown top-level key {sorted(unknown)[0]!r}; "
                "allowed: algo, env, description, atari, train, agent"
            )
        algos = preset_algos(data)
        if algos and args.algo not in algos:
            raise ConfigError(f"{source}: preset is for {', '.join(algos)}, not {args.algo}")
        if data.get("env") not in (None, args.env):
            print(
                f"warning: {source} was tuned for {data['env']}, not {args.env}",
                file=sys.stderr,
            )
        train_values.update(data.get("train") or {})
        agent_values.update(data.get("agent") or {})
        config_from_dict(TrainConfig, train_values, source=source)
        config_from_dict(config_cls, agent_values, source=source)
        atari = _atari_setting(args.env, data.get("atari"), source)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    agent_fields = {f.name for f in dataclasses.fields(config_cls)}
    from rlworks.config import parse_overrides

    for key, value in parse_overrides(args.overrides).items():
        scope, _, name = key.rpartition(".")
        if scope in ("atari", "env.atari"):
            # One Atari option, merged into the preset's (or the default) options.
            atari = {**(atari if isinstance(atari, dict) else {}), name: value}
            continue
        if key in ("atari", "env.atari"):
            atari = value
            continue
        if scope == "train" or (not scope and name in train_fields and name not in agent_fields):
            train_values[name] = value
        elif scope == "agent" or (not scope and name in agent_fields):
            agent_values[name] = value
        elif scope:
            raise ConfigError(
                f"--set {key}: unknown scope {scope!r}; use agent.KEY, train.KEY or atari.KEY"
            )
        else:
            allowed = ", ".join(sorted(agent_fields | train_fields))
            raise ConfigError(f"--set {key}: unknown key for {args.algo}; allowed: {allowed}")
    flags = {
        "steps": args.steps,
        "seed": args.seed,
        "n_envs": args.n_envs,
        "device": args.device,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "target_return": args.target_return,
        "checkpoint_every": args.checkpoint_every,
    }
    train_values.update({k: v for k, v in flags.items() if v is not None})
    train_config = config_from_dict(TrainConfig, train_values, source="command line")
    agent_config = config_from_dict(config_cls, agent_values, source="command line")
    atari = _atari_setting(args.env, atari, "--set atari")
    run = {
        "algo": args.algo,
        "env": args.env,
        "preset": _preset_name(preset_path),
        **({} if atari is None else {"atari": atari}),
        "train": config_to_dict(train_config),
        "agent": config_to_dict(agent_config),
    }
    agent_cls = get_agent_class(args.algo, agent_config, train_config.device)
    return run, train_config, agent_config, agent_cls


def _atari_setting(env_id: str, value: Any, source: str) -> bool | dict[str, Any] | None:
    """The ``atari`` setting a run records: for an ALE id, its whole preprocessing (every
    option, so that eval, record and resume rebuild the same env) or false for the raw game;
    None for other environments.

    Raises:
        ConfigError: Not null, a boolean or a mapping of Atari options; an unknown option or a
            bad value; preprocessing asked for an environment that is not an Atari game.
    """
    import dataclasses

    from rlworks.envs.atari import preprocesses_by_default, resolve_atari_options
    from rlworks.errors import ConfigError, EnvError

    if value is not None and not isinstance(value, bool | dict):
        raise ConfigError(
            f"{source}: atari must be true, false, null or a mapping of Atari options, "
            f"got {value!r}"
        )
    try:
        options = resolve_atari_options(env_id, value)
    except (EnvError, TypeError) as exc:
        raise ConfigError(f"{source}: atari: {exc}") from None
    if options is None:
        return False if value is False and preprocesses_by_default(env_id) else None
    if not preprocesses_by_default(env_id):
        raise ConfigError(
            f"{source}: atari preprocessing needs an Atari game (e.g. ALE/Breakout-v5), "
            f"not {env_id}"
        )
    out = dataclasses.asdict(options)
    if isinstance(out["screen_size"], tuple):
        out["screen_size"] = list(out["screen_size"])
    return out


def _preset_name(path: Path | None) -> str | None:
    """A bundled preset by its name, any other preset file by its path."""
    from rlworks.config import PRESETS_DIR

    if path is None:
        return None
    return path.stem if path.parent == PRESETS_DIR else str(path)


def _make_train_env(env_id: str, train_config: Any, atari: Any = None) -> Any:
    """The collection env: ALE ids with the run's Atari preprocessing (``atari``, see
    :class:`~rlworks.config.RunConfig`; clipped rewards unless it says otherwise), anything else
    as registered."""
    from rlworks.envs.atari import resolve_atari_options
    from rlworks.envs.make import make_env

    return make_env(
        env_id,
        train_config.n_envs,
        seed=train_config.seed,
        vectorization=train_config.vectorization,
        max_episode_steps=train_config.max_episode_steps,
        atari=resolve_atari_options(env_id, atari),
    )


def _resume(args: argparse.Namespace) -> int:
    import yaml

    from rlworks.agents import get_agent_class, get_config_class
    from rlworks.config import config_from_dict
    from rlworks.errors import ConfigError
    from rlworks.fileio import atomic_write_bytes
    from rlworks.training.checkpoint import find_checkpoint, load_checkpoint
    from rlworks.training.rundir import read_run_config
    from rlworks.training.trainer import TrainConfig, train

    ignored = [
        flag
        for flag, value in (
            ("ALGO/ENV", args.algo or args.env),
            ("--seed", args.seed),
            ("--n-envs", args.n_envs),
            ("--preset", args.preset),
            ("--set", args.overrides),
            ("--run-dir", args.run_dir),
            ("--device", args.device),
            ("--eval-every", args.eval_every),
            ("--eval-episodes", args.eval_episodes),
            ("--target-return", args.target_return),
            ("--checkpoint-every", args.checkpoint_every),
        )
        if value not in (None, [], "")
    ]
    if ignored:
        raise ConfigError(
            f"--resume continues a run with its own settings; only --steps may change, "
            f"got {', '.join(ignored)}"
        )
    run_dir = Path(args.resume)
    run = read_run_config(run_dir)
    source = str(run_dir / "config.yaml")
    train_values = dict(run.get("train") or {})
    if args.steps is not None:
        train_values["steps"] = args.steps
    train_config = config_from_dict(TrainConfig, train_values, source=source)
    algo = str(run.get("algo"))
    agent_config = config_from_dict(get_config_class(algo), run.get("agent") or {}, source=source)
    agent_cls = get_agent_class(algo, agent_config, train_config.device)  # the run's engine
    file = find_checkpoint(run_dir)
    payload = load_checkpoint(file)
    trainer_state = payload.get("trainer")
    if trainer_state is None:
        raise ConfigError(f"checkpoint {str(file)!r} was not written by the trainer; cannot resume")
    if int(trainer_state["step"]) >= train_config.steps:
        raise ConfigError(
            f"the run in {str(run_dir)!r} already took {int(trainer_state['step']):,} of its "
            f"{train_config.steps:,} steps; pass a larger --steps to continue it"
        )
    _truncate_metrics(run_dir / "metrics.csv", int(trainer_state["step"]))
    run["train"] = {**run.get("train", {}), "steps": train_config.steps}
    atomic_write_bytes(run_dir / "config.yaml", yaml.safe_dump(run, sort_keys=False).encode())
    env = _make_train_env(str(run["env"]), train_config, run.get("atari"))
    agent = agent_cls.from_payload(payload, env, device=train_config.device, source=str(file))
    agent.config = agent_config
    try:
        result = train(
            agent,
            train_config,
            run_dir=run_dir,
            progress=not args.quiet,
            run_config=run,
            resume=trainer_state,
        )
    finally:
        env.close()
    _report_train(args, result, train_config.target_return)
    return 0


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metrics.csv rows logged after the checkpoint a run resumes from (atomically)."""
    import csv
    import io

    from rlworks.fileio import atomic_write_bytes

    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= step]
    if len(kept) == len(rows):
        return
    buffer = io.StringIO()
    csv.writer(buffer).writerows(kept)
    atomic_write_bytes(path, buffer.getvalue().encode())


def _report_train(args: argparse.Namespace, result: Any, target: float | None) -> None:
    data = result.to_dict()
    when = "" if result.solved_at_s is None else f" ({result.solved_at_s:.1f} s)"
    solved = (
        f"solved at step {result.solved_at_step:,}{when}"
        if result.solved_at_step is not None
        else "target not reached"
        if target is not None
        else ""
    )
    human = (
        f"{result.algo} on {result.env}: {result.steps:,} steps in {result.wall_s:.1f} s "
        f"({result.steps_per_s:,.0f} steps/s); eval {result.eval_mean:.1f} ± {result.eval_std:.1f}"
        f"{'; ' + solved if solved else ''}\nrun directory: {result.run_dir}"
    )
    _emit(args, data, human)


# --------------------------------------------------------------------------- eval / record
def _policy_and_env(args: argparse.Namespace) -> tuple[Any, str, str]:
    """(policy or agent, env id, label) for eval and record."""
    from rlworks.errors import ConfigError

    targets = list(args.target)
    if args.policy:
        if len(targets) != 1:
            raise ConfigError(f"--policy {args.policy} takes one ENV, got {' '.join(targets)}")
        from rlworks.envs.make import make_env
        from rlworks.policies import make_named_policy

        env_id = targets[0]
        probe = make_env(env_id, 1, seed=args.seed)
        policy = make_named_policy(args.policy, env_id, probe, seed=args.seed)
        probe.close()
        return policy, env_id, f"{args.policy} policy"
    if len(targets) > 2:
        raise ConfigError(f"expected RUN_DIR|CHECKPOINT [ENV], got {' '.join(targets)}")
    from rlworks.agents import load

    env_arg = targets[1] if len(targets) == 2 else None
    agent = load(targets[0], env_arg, device="cpu")
    return agent, agent.env_id, f"{agent.algo} agent from {targets[0]}"


def _run_limit(args: argparse.Namespace) -> int | None:
    """The time limit a run directory or checkpoint was trained with, if any."""
    from rlworks.errors import RLWorksError
    from rlworks.training.rundir import read_run_config

    target = Path(args.target[0])
    if args.policy or not target.exists():
        return None
    try:
        if target.is_dir():
            train = read_run_config(target).get("train") or {}
        else:  # a checkpoint written by the trainer records its train settings
            from rlworks.training.checkpoint import load_checkpoint

            train = load_checkpoint(target).get("train_config") or {}
    except RLWorksError:
        return None  # loading the agent itself reports what is wrong
    limit = train.get("max_episode_steps")
    return int(limit) if limit is not None else None


def _cmd_eval(args: argparse.Namespace) -> int:
    import time

    from rlworks.errors import ConfigError
    from rlworks.training.evaluation import evaluate

    if args.episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {args.episodes}")
    if args.n_envs < 1:
        raise ConfigError(f"--n-envs must be >= 1, got {args.n_envs}")
    policy, env_id, label = _policy_and_env(args)
    limit = args.max_episode_steps if args.max_episode_steps is not None else _run_limit(args)
    if limit is not None and limit < 1:
        raise ConfigError(f"--max-episode-steps must be >= 1, got {limit}")
    start = time.perf_counter()
    result = evaluate(
        policy,
        env_id,
        episodes=args.episodes,
        seed=args.seed,
        n_envs=args.n_envs,
        max_episode_steps=limit,
    )
    wall = time.perf_counter() - start
    payload = {
        "env": env_id,
        "policy": label,
        **result.to_dict(with_episodes=False),
        "wall_s": round(wall, 3),
    }
    human = (
        f"{label} on {env_id}, {result.episodes} episodes (seeds {args.seed}..."
        f"{args.seed + result.episodes - 1}):\n  mean {result.mean:.3f}  std {result.std:.3f}  "
        f"min {result.min:g}  max {result.max:g}"
    )
    _emit(args, payload, human)
    return 0


def _cmd_record(args: argparse.Namespace) -> int:
    from rlworks.envs.make import make_single_env
    from rlworks.errors import ConfigError
    from rlworks.viz.animation import render_episodes, save_animation

    if args.episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {args.episodes}")
    out = Path(args.out) if args.out else None
    if out is None:
        first = Path(args.target[0])
        out = (
            (first / "episode.gif") if (not args.policy and first.is_dir()) else Path("episode.gif")
        )
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError(f"--out must end in .gif or .mp4, got {str(out)!r}")
    if args.frame_stride is not None and args.frame_stride < 1:
        raise ConfigError(f"--frame-stride must be >= 1, got {args.frame_stride}")
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError(f"--max-steps must be >= 1, got {args.max_steps}")
    policy, env_id, _ = _policy_and_env(args)
    actor = policy
    batch_policy = (lambda obs: actor.act(obs, explore=False)) if hasattr(actor, "act") else actor
    atari = _record_atari_options(policy, env_id)
    if atari is not None:
        frames, returns = _watch_atari(args, batch_policy, env_id, atari)
        stride, fps = args.frame_stride or ATARI_FRAME_STRIDE, args.fps or ATARI_RECORD_FPS
    else:
        probe = make_single_env(env_id, render_mode="rgb_array")
        fps = args.fps or int(probe.metadata.get("render_fps") or 30)
        probe.close()
        frames, returns = render_episodes(
            lambda: make_single_env(env_id, render_mode="rgb_array"),
            batch_policy,
            episodes=args.episodes,
            seed=args.seed,
            max_steps=args.max_steps if args.max_steps is not None else _run_limit(args),
        )
        stride = args.frame_stride or 1
    frames = frames[::stride]
    path = save_animation(frames, out, fps=fps)
    payload = {"out": str(path), "frames": len(frames), "returns": returns, "env": env_id}
    human = f"wrote {path} ({len(frames)} frames, returns {', '.join(f'{r:g}' for r in returns)})"
    _emit(args, payload, human)
    return 0


def _record_atari_options(policy: Any, env_id: str) -> Any:
    """The Atari preprocessing an agent (or hand-coded policy) is recorded with: the agent's own
    (None when it was trained on the raw game), the defaults for a policy on an ALE id; whole
    games either way (the watch loop itself resets and presses FIRE after a lost life)."""
    import dataclasses

    from rlworks.envs.atari import atari_options_of, resolve_atari_options

    if not resolve_atari_options(env_id, None):
        return None
    own_env = getattr(policy, "env", None)
    own = resolve_atari_options(env_id, None) if own_env is None else atari_options_of(own_env)
    return None if own is None else dataclasses.replace(own, terminal_on_life_loss=False)


def _watch_atari(
    args: argparse.Namespace, policy: Any, env_id: str, options: Any
) -> tuple[list[Any], list[float]]:
    """The chapter's watch loop per episode: RGB screens and the game score of each."""
    import dataclasses

    from rlworks.viz.atari import watch_episode

    frames: list[Any] = []
    returns: list[float] = []
    for k in range(args.episodes):
        screens, score = watch_episode(
            policy,
            env_id,
            seed=args.seed + k,
            max_steps=args.max_steps or ATARI_RECORD_STEPS,
            options=dataclasses.asdict(options),
        )
        frames.extend(screens)
        returns.append(score)
    return frames, returns


# --------------------------------------------------------------------------- plot / envs / check
def _cmd_plot(args: argparse.Namespace) -> int:
    from rlworks.viz.curves import plot_learning_curves

    if args.out:
        out = Path(args.out)
    elif len(args.runs) == 1 and Path(args.runs[0]).is_dir():
        out = Path(args.runs[0]) / "curve.png"
    else:
        out = Path("curves.png")
    path = plot_learning_curves(args.runs, out, title=args.title, target_return=args.target_return)
    print(f"wrote {path}")
    return 0


def _cmd_envs(args: argparse.Namespace) -> int:
    from rlworks.envs.registry import list_envs
    from rlworks.errors import EnvError

    families = list_envs()
    if args.family:
        if args.family not in families:
            raise EnvError(
                f"unknown family {args.family!r}; available: {', '.join(sorted(families))}"
            )
        families = {args.family: families[args.family]}
    lines = []
    for family, ids in families.items():
        lines.append(f"{family} ({len(ids)}):")
        lines.extend(f"  {env_id}" for env_id in ids)
    _emit(args, families, "\n".join(lines))
    return 0


def _cmd_check_env(args: argparse.Namespace) -> int:
    from rlworks.envs.checker import check_env, load_env_target

    env = load_env_target(args.target)
    try:
        check_env(env)
    finally:
        env.close()
    _emit(args, {"target": args.target, "ok": True}, f"{args.target}: passes check_env")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    import dataclasses

    import yaml

    from rlworks.agents import get_algorithm
    from rlworks.config import config_from_dict, config_to_dict, field_docs, find_preset, load_yaml
    from rlworks.training.trainer import TrainConfig

    agent_cls = get_algorithm(args.algo)
    preset = (
        find_preset(args.preset, args.algo, args.env or "") if (args.env or args.preset) else None
    )
    data = load_yaml(preset) if preset else {}
    sections: list[tuple[str, type[Any], dict[str, Any]]] = [
        ("train", TrainConfig, data.get("train") or {}),
        ("agent", agent_cls.config_cls, data.get("agent") or {}),
    ]
    print(
        f"# {args.algo}{' on ' + args.env if args.env else ''}"
        + (f" (preset {preset})" if preset else "")
    )
    if args.env:
        from rlworks.envs.atari import AtariOptions

        atari = _atari_setting(args.env, data.get("atari"), str(preset or "defaults"))
        if isinstance(atari, dict):  # an Atari game: its preprocessing (the run's atari section)
            sections.insert(0, ("atari", AtariOptions, atari))
    for name, cls, values in sections:
        if cls.__name__ == "AtariOptions":
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            config = cls(**values)
        else:
            config = config_from_dict(cls, values, source=str(preset or "defaults"))
        docs = field_docs(cls)  # type: ignore[arg-type]
        print(f"{name}:")
        for f in dataclasses.fields(config):
            value = yaml.safe_dump(config_to_dict(config)[f.name], default_flow_style=True).strip()
            value = value.removesuffix("\n...").removesuffix(" ...")
            print(f"  # {docs.get(f.name, '')}")
            print(f"  {f.name}: {value}")
    return 0


# --------------------------------------------------------------------------- bench
def _cmd_bench(args: argparse.Namespace) -> int:
    from rlworks.bench import harness

    if args.list or not args.cases:
        return _list_bench_cases(args, hint=not args.list)
    names = list(harness.CASES) if args.cases == ["all"] else list(dict.fromkeys(args.cases))
    cases = [harness.get_case(name) for name in names]  # every name checked before any run
    docs = None if args.no_docs else Path(args.docs or "docs/benchmarks.md")
    if docs is not None and not args.docs and not docs.is_file():
        print(f"note: {docs} not found here; no docs section written", file=sys.stderr)
        docs = None
    summaries, humans = [], []
    for case in cases:
        report = harness.run_case(
            case,
            seeds=args.seeds,
            throughput_seeds=args.throughput_seeds,
            use_sb3=not args.no_sb3,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
        results = harness.write_results(report, args.out)
        if docs is not None:
            harness.update_docs(docs, report, results)
        written = f"wrote {results}" + (f"; updated its section of {docs}" if docs else "")
        humans.append(f"{case.title} ({case.name}):\n{harness.summary_table(report)}\n{written}")
        summary = {k: report[k] for k in ("libraries", "sb3_note", "rows", "medians", "ratios")}
        summaries.append(
            {"case": case.name, **summary, "results": str(results), "docs": docs and str(docs)}
        )
    _emit(args, {"cases": summaries}, "\n\n".join(humans))
    return 0


def _list_bench_cases(args: argparse.Namespace, *, hint: bool) -> int:
    from rlworks.bench import harness

    rows: list[dict[str, Any]] = [
        {
            "name": c.name,
            "title": c.title,
            "rlworks": f"{c.algo} {c.env}" + (f" --preset {c.preset}" if c.preset else ""),
            "sb3": c.sb3_algo,
            "n_envs": c.n_envs,
            "throughput_steps": c.throughput_steps,
            "solve_steps": c.solve_steps,
            "target_return": c.target_return,
            "window": list(c.window) if c.window else None,
        }
        for c in harness.CASES.values()
    ]
    width = max((len(r["name"]) for r in rows), default=0)

    def what(r: dict[str, Any]) -> str:
        if r["window"]:  # a speed-only case: no time-to-solve runs
            return f"agent steps/s from step {r['window'][0]:,} to {r['window'][1]:,}"
        return f"target {r['target_return']:g} within {r['solve_steps']:,} steps"

    human = "\n".join(
        f"{r['name']:<{width}}  {r['title']}: rlworks train {r['rlworks']} vs SB3 {r['sb3']}, "
        + what(r)
        for r in rows
    )
    if hint:
        human += "\n(name a case to run it, or all; see rlworks bench --help)"
    _emit(args, {"cases": rows}, human)
    return 0


def _cmd_mdp(args: argparse.Namespace) -> int:
    from rlworks.cli_mdp import cmd_mdp

    return cmd_mdp(args, _emit)


COMMANDS = {
    "train": _cmd_train,
    "eval": _cmd_eval,
    "record": _cmd_record,
    "plot": _cmd_plot,
    "envs": _cmd_envs,
    "check-env": _cmd_check_env,
    "config": _cmd_config,
    "mdp": _cmd_mdp,
    "bench": _cmd_bench,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
