"""Train one Stable-Baselines3 agent under the benchmark protocol and print its result as JSON.

Run as ``python -m rlworks.bench.sb3_runner ALGO ENV --steps N --seed S ...`` (or as a script by
its path, which is what the harness does so that the SB3 side never pays for importing
rlworks). It mirrors ``rlworks train ... --json``:

* the model is ``getattr(stable_baselines3, ALGO)(POLICY, env, seed=SEED, device="cpu",
  **KWARGS)`` with ``KWARGS`` given as JSON in SB3's own names; the environment is
  ``gymnasium.make(ENV)`` for one copy and ``make_vec_env(ENV, n_envs, seed=SEED)`` for more;
* every ``--eval-every`` environment steps a callback evaluates the deterministic policy on
  ``--eval-episodes`` episodes of separate environments, episode ``k`` reset with seed
  ``eval_seed + k`` (``eval_seed`` = seed + 10,000, as rlworks' trainer does), and stops training
  once the mean reaches ``--target-return``; the policy is also evaluated at the end of the budget;
* ``wall_s`` is the training-loop clock, as in rlworks' trainer: the time inside
  ``model.learn`` (its evaluations included) plus the final evaluation; ``learn_s`` and
  ``final_eval_s`` are its two parts; ``steps_per_s`` = steps / ``wall_s``;
* with ``--window START END`` the run is a throughput window instead: training stops at END
  steps, nothing is evaluated, and ``steps_per_s`` is measured between the environment steps START
  and END only (after learning has started, when START > ``learning_starts``), with
  ``window_s``, ``window_steps`` and ``frames_per_s`` (emulator frames: ``--frame-skip`` × steps);
* ``--atari`` makes the environment as SB3's Atari users do: ``make_atari_env`` (SB3's
  ``AtariWrapper``: 30 no-op starts, frame skip 4 with max-pooling, 84x84 grayscale, FIRE at
  reset, rewards clipped to their sign; the episode does *not* end at a lost life, as in rlworks'
  default) and ``VecFrameStack(4)``, over ``ENV`` made with ``frameskip=1`` and no sticky actions.
  Atari runs are throughput windows only (``--window``).

The last line of standard output is one JSON object with the keys of ``rlworks train --json``
that apply (algo, env, steps, wall_s, steps_per_s, eval_mean, eval_std, solved_at_step,
solved_at_s, stop_reason) plus the SB3 and torch versions and torch's thread count.

Only the standard library is imported at module level: Stable-Baselines3, torch and Gymnasium
are imported inside :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["SCHEDULED", "decode_kwargs", "linear_schedule", "main"]

_ACTIVATIONS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "elu": "ELU",
    "leaky_relu": "LeakyReLU",
    "silu": "SiLU",
    "gelu": "GELU",
}


SCHEDULED = ("learning_rate", "clip_range", "clip_range_vf")
"""SB3 kwargs that accept a schedule (a function of the remaining progress, 1 → 0)."""


def linear_schedule(initial: float) -> Callable[[float], float]:
    """rl-zoo's ``lin_<initial>``: the value falls linearly from ``initial`` to 0 over the
    ``total_timesteps`` of ``model.learn`` (SB3 calls it with the remaining progress, 1 → 0)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def decode_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """SB3 constructor kwargs from their JSON form.

    JSON has no tuples, classes or functions, so three kinds of values are translated:
    ``train_freq`` given as a list (``[1, "episode"]``) becomes a tuple;
    ``policy_kwargs.activation_fn`` given as a name (``"tanh"``, ``"relu"`` or a ``torch.nn``
    class name such as ``"Tanh"``) becomes the class; and a schedulable value (see
    :data:`SCHEDULED`) written as rl-zoo writes it, ``"lin_1e-3"``, becomes
    :func:`linear_schedule` of that number.

    Raises:
        ValueError: An unknown activation, or a ``lin_`` value that is not a number.
    """
    import torch

    out = dict(kwargs)
    if isinstance(out.get("train_freq"), list):
        out["train_freq"] = tuple(out["train_freq"])
    for key in SCHEDULED:
        value = out.get(key)
        if isinstance(value, str) and value.startswith("lin_"):
            try:
                out[key] = linear_schedule(float(value[len("lin_") :]))
            except ValueError:
                raise ValueError(f"{key}: {value!r} is not lin_<number>") from None
    policy_kwargs = dict(out.get("policy_kwargs") or {})
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        name = _ACTIVATIONS.get(activation.lower(), activation)
        if not hasattr(torch.nn, name):
            raise ValueError(f"policy_kwargs.activation_fn: unknown torch.nn class {activation!r}")
        policy_kwargs["activation_fn"] = getattr(torch.nn, name)
    if policy_kwargs:
        out["policy_kwargs"] = policy_kwargs
    return out


def _make_evaluator(
    env_id: str, episodes: int, seed: int
) -> tuple[Callable[[Any], tuple[float, float]], Callable[[], None]]:
    """``evaluate(model) -> (mean, std)`` over ``episodes`` seeded episodes, and ``close()``.

    The episodes run side by side, one environment each (episode ``k`` reset with ``seed + k``),
    and the model acts on the batch of the still-running ones: one ``predict`` call per step of
    the longest episode instead of one per environment step.
    """
    import gymnasium as gym
    import numpy as np

    envs = [gym.make(env_id) for _ in range(episodes)]

    def evaluate(model: Any) -> tuple[float, float]:
        obs = [env.reset(seed=seed + k)[0] for k, env in enumerate(envs)]
        returns = np.zeros(episodes)
        running = list(range(episodes))
        while running:
            actions, _ = model.predict(np.stack([obs[i] for i in running]), deterministic=True)
            still = []
            for i, action in zip(running, actions, strict=True):
                obs[i], reward, terminated, truncated, _ = envs[i].step(action)
                returns[i] += float(reward)
                if not (terminated or truncated):
                    still.append(i)
            running = still
        return float(returns.mean()), float(returns.std())

    def close() -> None:
        for env in envs:
            env.close()

    return evaluate, close


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rlworks.bench.sb3_runner",
        description="Train a Stable-Baselines3 agent with periodic deterministic evaluation and "
        "early stop at a target return; print one JSON object as the last line of stdout.",
    )
    parser.add_argument("algo", help="SB3 algorithm class, e.g. DQN, PPO, SAC, A2C")
    parser.add_argument("env", help="Gymnasium environment id, e.g. CartPole-v1")
    parser.add_argument(
        "--steps", type=int, help="environment step budget (with --window: its END)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and environments")
    parser.add_argument("--n-envs", type=int, default=1, help="parallel environment copies")
    parser.add_argument("--policy", default="MlpPolicy", help="SB3 policy (default MlpPolicy)")
    parser.add_argument(
        "--kwargs", default="{}", help="constructor kwargs as a JSON object, in SB3's names"
    )
    parser.add_argument(
        "--eval-every", type=int, default=0, help="evaluate every N env steps (0: only at the end)"
    )
    parser.add_argument("--eval-episodes", type=int, default=20, help="episodes per evaluation")
    parser.add_argument(
        "--eval-seed", type=int, help="episode k is reset with EVAL_SEED + k (default seed + 10000)"
    )
    parser.add_argument("--target-return", type=float, help="stop once an evaluation reaches it")
    parser.add_argument(
        "--torch-threads", type=int, help="torch.set_num_threads (default: torch's)"
    )
    parser.add_argument(
        "--window",
        type=int,
        nargs=2,
        metavar=("START", "END"),
        help="throughput window: stop at END steps, steps/s measured from START to END, no eval",
    )
    parser.add_argument(
        "--atari", action="store_true", help="SB3's Atari wrappers and a stack of 4 frames"
    )
    parser.add_argument(
        "--frame-skip", type=int, default=4, help="emulator frames per step, for frames/s"
    )
    return parser


def _make_atari(env_id: str, n_envs: int, seed: int) -> Any:
    """SB3's Atari environment: ``make_atari_env`` (no end of episode at a lost life) + 4 frames."""
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    env_kwargs = {"frameskip": 1, "repeat_action_probability": 0.0}
    wrapper_kwargs = {"terminal_on_life_loss": False}
    venv = make_atari_env(
        env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, wrapper_kwargs=wrapper_kwargs
    )
    return VecFrameStack(venv, n_stack=4)


class WindowClock:
    """Times the environment steps from ``start`` to ``end``: call :meth:`tick` with the step
    count after every step (or batch of steps); it returns False once ``end`` is reached.

    Attributes:
        seconds: Time from the first tick at or past ``start`` to the first at or past ``end``.
        steps: Steps between those two ticks.
        updates: Growth of the ``updates`` counter passed to :meth:`tick` between them
            (gradient steps).
    """

    def __init__(self, start: int, end: int) -> None:
        """Measure from the first tick at or past ``start`` to the first at or past ``end``."""
        self.start, self.end = start, end
        self.t0: float | None = None
        self.step0 = self.updates0 = 0
        self.seconds = math.nan
        self.steps = self.updates = 0

    def tick(self, step: int, updates: int = 0) -> bool:
        """Note the step count (and gradient steps so far); False once the window is over."""
        if self.t0 is None and step >= self.start:
            self.t0, self.step0, self.updates0 = time.perf_counter(), step, updates
        if self.t0 is not None and step >= self.end:
            if not self.steps:
                self.seconds = time.perf_counter() - self.t0
                self.steps, self.updates = step - self.step0, updates - self.updates0
            return False
        return True

    @property
    def steps_per_s(self) -> float:
        """Steps per second inside the window (nan before it closes)."""
        return self.steps / self.seconds if self.steps and self.seconds > 0 else math.nan


def _identity(args: argparse.Namespace) -> dict[str, Any]:
    """The fields naming the run, first in every result."""
    return {
        "library": "sb3",
        "algo": args.algo.lower(),
        "sb3_algo": args.algo,
        "env": args.env,
        "seed": args.seed,
        "n_envs": args.n_envs,
    }


def _versions(sb3: Any, torch: Any) -> dict[str, Any]:
    """The library versions and torch's thread count, last in every result."""
    return {
        "sb3_version": sb3.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Train, evaluate, print the JSON result; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.window is not None and not 0 <= args.window[0] < args.window[1]:
        print("error: --window START END needs 0 <= START < END", file=sys.stderr)
        return 2
    if args.atari and args.window is None:
        print("error: --atari runs are throughput windows (--window START END)", file=sys.stderr)
        return 2
    if args.steps is None:
        if args.window is None:
            print("error: give --steps (or --window START END)", file=sys.stderr)
            return 2
        args.steps = args.window[1]
    if args.steps < 1 or args.n_envs < 1 or args.eval_episodes < 1 or args.eval_every < 0:
        print(
            "error: --steps, --n-envs and --eval-episodes must be >= 1, --eval-every >= 0",
            file=sys.stderr,
        )
        return 2
    try:
        kwargs = json.loads(args.kwargs)
    except json.JSONDecodeError as exc:
        print(f"error: --kwargs is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(kwargs, dict):
        print("error: --kwargs must be a JSON object", file=sys.stderr)
        return 2
    if args.window is not None:
        return _window_run(args, kwargs)

    import gymnasium as gym
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    if not hasattr(sb3, args.algo):
        print(f"error: stable_baselines3 has no algorithm {args.algo!r}", file=sys.stderr)
        return 2
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    eval_seed = args.seed + 10_000 if args.eval_seed is None else args.eval_seed
    evaluate, close_eval = _make_evaluator(args.env, args.eval_episodes, eval_seed)
    env = (
        gym.make(args.env)
        if args.n_envs == 1
        else make_vec_env(args.env, n_envs=args.n_envs, seed=args.seed)
    )
    model = getattr(sb3, args.algo)(
        args.policy, env, seed=args.seed, device="cpu", **decode_kwargs(kwargs)
    )

    evals: list[tuple[int, float, float]] = []
    state: dict[str, Any] = {"solved_at_step": None, "solved_at_s": None, "start": 0.0}

    class EvalAndStop(BaseCallback):
        """Evaluate every ``eval_every`` env steps; stop once the mean reaches the target."""

        def __init__(self) -> None:
            super().__init__()
            self.next_eval = args.eval_every

        def _on_step(self) -> bool:
            if not args.eval_every or self.num_timesteps < self.next_eval:
                return True
            self.next_eval = (self.num_timesteps // args.eval_every + 1) * args.eval_every
            clock = time.perf_counter() - state["start"]  # the trainer's clock: before evaluating
            mean, std = evaluate(self.model)
            evals.append((self.num_timesteps, mean, std))
            if args.target_return is not None and mean >= args.target_return:
                state["solved_at_step"], state["solved_at_s"] = self.num_timesteps, clock
                return False
            return True

    state["start"] = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=EvalAndStop(), progress_bar=False)
    learn_s = time.perf_counter() - state["start"]
    steps = int(model.num_timesteps)
    final_start = time.perf_counter()
    if not evals or evals[-1][0] != steps:
        mean, std = evaluate(model)
        evals.append((steps, mean, std))
    final_eval_s = time.perf_counter() - final_start
    close_eval()
    env.close()
    wall = learn_s + final_eval_s
    solved = state["solved_at_step"] is not None
    result = {
        **_identity(args),
        "steps": steps,
        "wall_s": round(wall, 3),
        "learn_s": round(learn_s, 3),
        "final_eval_s": round(final_eval_s, 3),
        "steps_per_s": round(steps / wall, 1) if wall > 0 else 0.0,
        "eval_mean": evals[-1][1],
        "eval_std": evals[-1][2],
        "solved_at_step": state["solved_at_step"],
        "solved_at_s": round(state["solved_at_s"], 3) if solved else None,
        "stop_reason": f"target return {args.target_return:g} reached" if solved else "step budget",
        "evals": [[s, m, sd] for s, m, sd in evals],
        **_versions(sb3, torch),
    }
    print(
        json.dumps(
            {
                k: None if isinstance(v, float) and not math.isfinite(v) else v
                for k, v in result.items()
            }
        )
    )
    return 0


def _window_run(args: argparse.Namespace, kwargs: dict[str, Any]) -> int:
    """Train until the window's END step; report the steps/s inside the window, no evaluation."""
    import gymnasium as gym
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    if args.atari:
        import ale_py

        gym.register_envs(ale_py)
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    if args.atari:
        env = _make_atari(args.env, args.n_envs, args.seed)
    elif args.n_envs == 1:
        env = gym.make(args.env)
    else:
        env = make_vec_env(args.env, n_envs=args.n_envs, seed=args.seed)
    model = getattr(sb3, args.algo)(
        args.policy, env, seed=args.seed, device="cpu", **decode_kwargs(kwargs)
    )
    clock = WindowClock(*args.window)

    class Window(BaseCallback):
        def _on_step(self) -> bool:
            return clock.tick(self.num_timesteps, int(getattr(self.model, "_n_updates", 0)))

    start = time.perf_counter()
    model.learn(total_timesteps=args.window[1], callback=Window(), progress_bar=False)
    learn_s = time.perf_counter() - start
    env.close()
    rate = clock.steps_per_s
    result = {
        **_identity(args),
        "steps": int(model.num_timesteps),
        "wall_s": round(learn_s, 3),
        "window": list(args.window),
        "window_steps": clock.steps,
        "window_s": round(clock.seconds, 3),
        "window_gradient_steps": clock.updates,
        "steps_per_s": round(rate, 1),
        "frames_per_s": round(rate * args.frame_skip, 1),
        "eval_mean": None,
        **_versions(sb3, torch),
    }
    print(json.dumps({k: None if _nonfinite(v) else v for k, v in result.items()}))
    return 0


def _nonfinite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
