"""Chapter 18 (3rd edition extra material): Q-learning on CartPole with a discretized state.

The chapter cuts the pole angle into 6 bins and its angular velocity into 12. We bin the angle
between CartPole's termination thresholds (±12° = ±0.2095 rad; the observation space allows twice
that, where the episode has already ended) and the angular velocity between ±50°/s
(``math.radians(50)`` = 0.8727 rad/s), ignoring the cart's position and velocity: a Q-table of
shape ``(6, 12, 2)``. The chapter's best variant decays both the exploration rate and the
learning rate with the logarithmic schedule::

    def exploration_rate(n, min_rate=0.1):
        return max(min_rate, min(1, 1.0 - math.log10((n + 1) / 25)))

    alpha = max(alpha0, min(1.0, 1.0 - math.log10((episode + 1) / 25)))

with ``n`` the episode number and ``γ = 1``. Its training runs average 83 (ε-greedy with a power
learning rate) and 137 (both rates logarithmic) per training episode, exploration included.

Here one :class:`~rlworks.tabular.QLearning` agent does the same in 8 CartPole copies, and the
trainer evaluates its greedy policy on 100 episodes every 10,000 steps, stopping once the mean
reaches 195 (CartPole-v0's "solved" threshold). Measured with seeds 0-7: every seed solves within
20,000 steps (about 140-180 training episodes); seeds 1, 2, 3, 5 and 7 at the first evaluation
(10,000 steps). The default ``--seed 2`` solves there with an evaluation mean of 498.87 (out of
500), in about 2-3 s; the runs are deterministic, so that is asserted. The greedy policy is not
stable afterwards: without ``target_return`` the same seed evaluates at about 276 after 50,000
steps, as a few coarse bins cannot tell all the pole's situations apart.

The same from the command line, whose bundled preset (tabular-cartpole) holds these settings (it
prints the same 498.87)::

    rlworks train q-learning CartPole-v1 --seed 2

Run: ``python examples/chapter18/07_discretized_cartpole.py [--steps 50000] [--seed 2]``
"""

from __future__ import annotations

import argparse
import math

import rlworks as rw
from rlworks.agents import QLearning, TabularConfig
from rlworks.schedules import logarithmic

DEFAULT_STEPS, DEFAULT_SEED = 50_000, 2
ANGLE = 0.2095  # rad: CartPole's observation limit on the pole angle (12° is where it falls)
ANGULAR_VELOCITY = math.radians(50)  # rad/s: the chapter's bound, 0.8727

CONFIG = TabularConfig(
    gamma=1.0,
    discretize_bins=[6, 12],  # angle x angular velocity: 72 states
    discretize_dims=[2, 3],
    discretize_low=[-ANGLE, -round(ANGULAR_VELOCITY, 4)],
    discretize_high=[ANGLE, round(ANGULAR_VELOCITY, 4)],
    learning_rate="logarithmic",  # alpha = max(0.1, min(1, 1 - log10((episode + 1) / 25)))
    alpha_min=0.1,
    epsilon_schedule="logarithmic",  # epsilon: the same, per episode
    epsilon_end=0.1,
    schedule_unit="episodes",
)


def main(argv: list[str] | None = None) -> None:
    """Train the discretized Q-learner until its greedy policy averages 195 over 100 episodes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="step budget")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of envs and agent")
    args, _ = parser.parse_known_args(argv)  # known only: the test suite runs under pytest's argv

    schedule = logarithmic(0.1)
    print("alpha and epsilon at episodes 0, 24, 50, 100, 200:")
    print("  ", [round(schedule(n), 3) for n in (0, 24, 50, 100, 200)])

    env = rw.make_env("CartPole-v1", n_envs=8, seed=args.seed)
    agent = QLearning(env, CONFIG, seed=args.seed)
    print("Q-table:", agent.q_values.shape, "(6 x 12 discretized states, 2 actions)")
    result = agent.learn(
        args.steps, eval_every=10_000, eval_episodes=100, target_return=195, progress=False
    )
    env.close()
    print(f"trained {result.steps} steps ({result.episodes} episodes) in {result.wall_s:.1f} s")
    print(f"greedy policy over 100 episodes: {result.eval_mean:.2f} ± {result.eval_std:.2f}")
    print("solved at step:", result.solved_at_step, f"({result.stop_reason})")

    if (args.steps, args.seed) == (DEFAULT_STEPS, DEFAULT_SEED):
        assert result.solved_at_step is not None and result.solved_at_step <= 20_000
        assert result.eval_mean >= 195


if __name__ == "__main__":
    main()
