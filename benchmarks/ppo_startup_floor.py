"""How soon could any PPO solve CartPole from the shell? A torch-free floor beside SB3.

Issue 6 asks for PPO's median time to solve CartPole-v1 — the whole command, process start to
solved agent, with rl-zoo's hyperparameters — at most a quarter of Stable-Baselines3's. This
script measures what that target leaves room for. Side by side, per seed, alternating the order:

* ``floor``: this file run as its own process in ``--child`` mode: a deliberately minimal PPO in
  NumPy alone (no torch, no rlworks, no run directory, checkpoint or plot), with the same
  hyperparameters (8 envs × 32 steps, one minibatch of 256 for 20 epochs, GAE λ 0.8, γ 0.98,
  learning rate 1e-3 and clip range 0.2 annealed over 100k steps, Adam eps 1e-5, gradient norm
  0.5, value coefficient 0.5, separate orthogonally initialized [64, 64] tanh actor and critic)
  and the bench's protocol (every 5,000 steps the greedy policy plays 20 episodes, episode k
  reset with seed + 10,000 + k; stop at a mean >= 475);
* ``sb3``: exactly the command ``rlworks bench ppo-cartpole`` runs for SB3's time to solve;
* ``rlworks``: exactly the command ``rlworks bench ppo-cartpole`` runs for rlworks'.

It is not a second PPO of the library: it writes nothing, and exists to bound from below what a
PyTorch-free path could reach (importing torch alone takes about a second here).

Writes ``benchmarks/results/ppo_startup_floor.json`` and prints a Markdown table.

Run: ``python benchmarks/ppo_startup_floor.py [--seeds 0 1 2 3 4]``
"""

from __future__ import annotations

import argparse
import itertools
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

START = time.perf_counter()  # the child's clock starts before NumPy and Gymnasium load

ROOT = Path(__file__).resolve().parent
N_ENVS, N_STEPS, BATCH, EPOCHS = 8, 32, 256, 20
GAMMA, LAMBDA, LR, CLIP, BUDGET = 0.98, 0.8, 1e-3, 0.2, 100_000
EVAL_EVERY, EVAL_EPISODES, TARGET = 5_000, 20, 475.0


# --------------------------------------------------------------------------- the minimal PPO
def child(seed: int) -> None:
    """Train until the greedy policy's 20-episode mean reaches the target; print one line."""
    import gymnasium as gym
    import numpy as np

    rng = np.random.default_rng(seed)

    def orthogonal(n_in: int, n_out: int, gain: float) -> Any:
        q, r = np.linalg.qr(rng.standard_normal((max(n_in, n_out), min(n_in, n_out))))
        q *= np.sign(np.diag(r))
        w = q if n_in >= n_out else q.T
        return (gain * w[:n_in, :n_out]).astype(np.float32)  # [in, out]

    def mlp(sizes: list[int], out_gain: float) -> list[list[Any]]:
        last = len(sizes) - 2
        return [
            [orthogonal(a, b, out_gain if i == last else math.sqrt(2)), np.zeros(b, np.float32)]
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        ]

    actor, critic = mlp([4, 64, 64, 2], 0.01), mlp([4, 64, 64, 1], 1.0)
    params = [p for layer in actor + critic for p in layer]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]

    def forward(layers: list[list[Any]], x: Any) -> list[Any]:
        outs = []
        for i, (w, b) in enumerate(layers):
            x = x @ w
            x += b
            if i < len(layers) - 1:
                np.tanh(x, out=x)
            outs.append(x)
        return outs

    def backward(layers: list[list[Any]], outs: list[Any], x: Any, g: Any) -> list[Any]:
        grads: list[Any] = []
        for i in range(len(layers) - 1, -1, -1):
            below = outs[i - 1] if i > 0 else x
            grads[:0] = [below.T @ g, g.sum(0)]
            if i:
                g = g @ layers[i][0].T
                g *= 1.0 - below * below  # tanh'
        return grads

    def value(x: Any) -> Any:
        return forward(critic, x)[-1][:, 0]

    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("CartPole-v1") for _ in range(N_ENVS)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    eval_envs = [gym.make("CartPole-v1") for _ in range(EVAL_EPISODES)]

    def evaluate() -> float:
        obs = np.stack([e.reset(seed=seed + 10_000 + k)[0] for k, e in enumerate(eval_envs)])
        alive, total = np.ones(EVAL_EPISODES, bool), 0.0
        while alive.any():
            rows = np.flatnonzero(alive)
            actions = forward(actor, obs[rows])[-1].argmax(1)
            for j, a in zip(rows, actions, strict=True):
                obs[j], r, terminated, truncated, _ = eval_envs[j].step(int(a))
                total += float(r)
                alive[j] = not (terminated or truncated)
        return total / EVAL_EPISODES

    obs, _ = envs.reset(seed=seed)
    shape = (N_STEPS, N_ENVS)
    buf_obs = np.zeros((*shape, 4), np.float32)
    buf_act = np.zeros(shape, np.int64)
    buf_logp, buf_rew, buf_done = (np.zeros(shape, np.float32) for _ in range(3))
    buf_val = np.zeros((N_STEPS + 1, N_ENVS), np.float32)
    rows, envs_idx = np.arange(BATCH), np.arange(N_ENVS)
    step, t_adam, next_eval, mean = 0, 0, EVAL_EVERY, -math.inf
    while step < BUDGET:
        for t in range(N_STEPS):  # collect: sample, step, bootstrap truncations
            x = obs.astype(np.float32)
            logits = forward(actor, x)[-1]
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            a = np.minimum((rng.random(N_ENVS)[:, None] > np.cumsum(p, 1)).sum(1), 1)
            buf_obs[t], buf_act[t], buf_val[t] = x, a, value(x)
            buf_logp[t] = np.log(p[envs_idx, a])
            obs, r, terminated, truncated, info = envs.step(a)
            buf_rew[t] = r
            cut = truncated & ~terminated
            if cut.any():
                final = np.stack([info["final_obs"][i] if cut[i] else obs[i] for i in envs_idx])
                buf_rew[t] += GAMMA * value(final.astype(np.float32)) * cut
            buf_done[t] = terminated | truncated
            step += N_ENVS
        buf_val[N_STEPS] = value(obs.astype(np.float32))
        adv, last = np.zeros(shape, np.float32), 0.0  # GAE
        for t in range(N_STEPS - 1, -1, -1):
            alive = 1.0 - buf_done[t]
            delta = buf_rew[t] + GAMMA * buf_val[t + 1] * alive - buf_val[t]
            last = delta + GAMMA * LAMBDA * alive * last
            adv[t] = last
        X, A = buf_obs.reshape(-1, 4), buf_act.reshape(-1)
        old_logp, ADV = buf_logp.reshape(-1), adv.reshape(-1)
        RET = (adv + buf_val[:N_STEPS]).reshape(-1)
        remaining = max(0.0, 1.0 - step / BUDGET)
        lr, clip = LR * remaining, CLIP * remaining
        for _ in range(EPOCHS):  # one minibatch of the whole rollout per epoch
            idx = rng.permutation(BATCH)
            x, act = X[idx], A[idx]
            adv_b = (ADV[idx] - ADV[idx].mean()) / (ADV[idx].std(ddof=1) + 1e-8)
            a_out, c_out = forward(actor, x), forward(critic, x)
            z = a_out[-1] - a_out[-1].max(1, keepdims=True)
            e = np.exp(z)
            total = e.sum(1, keepdims=True)
            p, logp = e / total, (z - np.log(total))[rows, act]
            ratio = np.exp(logp - old_logp[idx])
            unclipped, clipped = ratio * adv_b, np.clip(ratio, 1 - clip, 1 + clip) * adv_b
            d_logp = -unclipped / BATCH * (unclipped <= clipped)
            d_logits = -p * d_logp[:, None]
            d_logits[rows, act] += d_logp
            d_value = (2 * 0.5 / BATCH) * (c_out[-1][:, 0] - RET[idx])
            grads = backward(actor, a_out, x, d_logits.astype(np.float32))
            grads += backward(critic, c_out, x, d_value[:, None].astype(np.float32))
            scale = min(1.0, 0.5 / (math.sqrt(sum(float((g * g).sum()) for g in grads)) + 1e-6))
            t_adam += 1
            c1, c2 = 1 - 0.9**t_adam, 1 - 0.999**t_adam
            for p_, g, (m, v) in zip(params, grads, moments, strict=True):
                g = g * scale
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                p_ -= (lr / c1) * m / (np.sqrt(v / c2) + 1e-5)
        if step >= next_eval:
            next_eval += EVAL_EVERY
            mean = evaluate()
            if mean >= TARGET:
                break
    print(
        f'{{"solved_at_step": {step if mean >= TARGET else "null"}, "eval_mean": {mean}, '
        f'"wall_s": {time.perf_counter() - START:.3f}}}'
    )


# --------------------------------------------------------------------------- side by side
def main() -> None:
    import json
    import statistics
    import tempfile

    from common import machine_info, write_report  # benchmarks/common.py, beside this script

    from rlworks.bench.harness import get_case, rlworks_command, sb3_available, sb3_command

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    if not sb3_available():
        sys.exit("ppo_startup_floor needs Stable-Baselines3 (pip install 'rlworks[bench]')")
    case = get_case("ppo-cartpole")
    libraries = ["floor", "sb3", "rlworks"]
    runs: list[dict[str, Any]] = []
    for n, seed in enumerate(args.seeds):
        order = libraries[n % 3 :] + libraries[: n % 3]
        for library in order:
            with tempfile.TemporaryDirectory(prefix="rlworks-floor-") as tmp:
                command = {
                    "floor": [sys.executable, __file__, "--child", str(seed)],
                    "sb3": sb3_command(case, "solve", seed),
                    "rlworks": rlworks_command(case, "solve", seed, Path(tmp) / "run"),
                }[library]
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                wall = time.perf_counter() - start
            result = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append({"library": library, "seed": seed, "process_wall_s": round(wall, 3),
                         "solved_at_step": result.get("solved_at_step")})  # fmt: skip
            print(f"{library:8s} seed {seed}: solved at {result.get('solved_at_step')}, "
                  f"whole command {wall:.2f} s", file=sys.stderr)  # fmt: skip
    medians = {
        lib: statistics.median(r["process_wall_s"] for r in runs if r["library"] == lib)
        for lib in libraries
    }
    lines = [
        "| | " + " | ".join(f"seed {s}" for s in args.seeds) + " | median, s | ÷ SB3 |",
        "|---|" + "---|" * (len(args.seeds) + 2),
    ]
    for lib in libraries:
        cells = [
            f"{r['process_wall_s']:.2f} ({(r['solved_at_step'] or 0) / 1000:.0f}k)"
            for r in runs if r["library"] == lib
        ]  # fmt: skip
        ratio = medians[lib] / medians["sb3"]
        lines.append(f"| {lib} | {' | '.join(cells)} | {medians[lib]:.2f} | {ratio:.2f} |")
    table = "\n".join(lines)
    print(table)
    report = {"machine": machine_info(), "seeds": args.seeds, "runs": runs,
              "medians_s": medians, "table": table}  # fmt: skip
    write_report(report, ROOT / "results" / "ppo_startup_floor.json")


if __name__ == "__main__":
    main()
