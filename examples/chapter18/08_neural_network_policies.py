"""Chapter 18, "Neural Network Policies": the chapter's policy network for CartPole, untrained.

The chapter builds ``Dense(5, relu) → Dense(1, sigmoid)`` (Keras, Glorot-uniform weights, zero
biases) whose output is the probability ``p`` of action 0 (left), and picks each action at random
with those probabilities rather than the most likely one, to keep exploring::

    def pg_policy(obs):
        left_proba = model.predict(obs[np.newaxis], verbose=0)[0][0]
        return int(np.random.rand() > left_proba)

Its untrained network then plays an episode that is "pretty bad". Here the same network is
``PolicyNetwork(obs_space, action_space, [5], init="glorot")`` with the ``bernoulli`` head: its
sigmoid output is the probability of action 1 (right), the same model with the sign of the last
layer flipped, so ``P(left) = 1 - p``. ``net.sample(obs, rng)`` draws the actions with a seeded
NumPy generator (one seed drives everything); ``net.mode(obs)`` is the most likely action.

Measured with the network built under seed 42 (``rlworks.nets.seeded(42)``, the chapter's
``tf.random.set_seed(42)``): its output for the chapter's first observation (``reset(seed=42)``)
is P(left) = 0.491, a coin flip, and its episode from there lasts 14 steps. Over the basic
policy's 500 episodes (episode ``k`` reset with ``seed=k``) the untrained stochastic policy
averages 23.8 steps, no better than uniform random actions (21.9) and well below the basic
policy's 41.7: the network has to learn. Its greedy policy (always the likelier action) is
another matter: an untrained network is a random deterministic policy, and this one happens to
average 64.2 (seeds 0-4 give 9.7, 12.4, 12.7, 49.9 and 108.7) — the luck random search exploits.

Run: ``python examples/chapter18/08_neural_network_policies.py``
"""

from __future__ import annotations

import numpy as np
import torch

import rlworks as rw
from rlworks.nets import PolicyNetwork, seeded
from rlworks.policies import basic_policy, random_policy

SEED = 42  # the chapter's tf.random.set_seed(42), np.random.seed(42) and reset(seed=42)
EPISODES = 500  # the basic policy's evaluation: episode k is reset with seed=k
BASIC_MEAN = 41.698  # the chapter's mean for the basic policy over those episodes


def play_one_episode(
    net: PolicyNetwork, rng: np.random.Generator, seed: int = SEED, max_steps: int = 200
) -> int:
    """Play one CartPole episode with the stochastic policy (the chapter's ``show_one_episode``
    without the animation); returns its length."""
    env = rw.envs.make_single_env("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    steps, done = 0, False
    while not done and steps < max_steps:
        action = int(net.sample(obs[np.newaxis], rng)[0])
        obs, _, terminated, truncated, _ = env.step(action)
        steps, done = steps + 1, terminated or truncated
    env.close()
    return steps


def main() -> None:
    """Build the untrained network, look at its probabilities and evaluate it."""
    env = rw.envs.make_single_env("CartPole-v1")
    with seeded(SEED):
        net = PolicyNetwork(env.observation_space, env.action_space, [5], init="glorot")
    print(net)

    # One observation in, the probability of each action out.
    obs, _ = env.reset(seed=SEED)
    env.close()
    with torch.no_grad():
        right = torch.ones(1, dtype=torch.int64)  # action 1
        p_right = float(net.log_prob(torch.as_tensor(obs[np.newaxis]), right).exp()[0])
    print(f"observation: {obs}")
    print(f"P(left) = {1 - p_right:.3f}, P(right) = {p_right:.3f}")

    # Actions are drawn with those probabilities, from a seeded generator.
    rng = np.random.default_rng(SEED)
    draws = net.sample(np.repeat(obs[np.newaxis], 10_000, axis=0), rng)  # [10000] in {0, 1}
    print("ten sampled actions:", draws[:10].tolist())
    print(f"share of 'right' in 10,000 draws: {draws.mean():.3f}")
    assert abs(draws.mean() - p_right) < 0.02  # ~1.96 sigma = 0.0098 at p = 0.5
    assert abs(p_right - 0.5) < 0.1  # untrained: close to a coin flip

    # The untrained network plays an episode: pretty bad.
    length = play_one_episode(net, np.random.default_rng(SEED))
    print(f"one episode from reset(seed={SEED}), untrained stochastic policy: {length} steps")

    # The untrained policy against the basic policy and random actions, on the same episodes.
    rng = np.random.default_rng(SEED)
    untrained = rw.evaluate(lambda o: net.sample(o, rng), "CartPole-v1", episodes=EPISODES)
    greedy = rw.evaluate(net.mode, "CartPole-v1", episodes=EPISODES)
    uniform = rw.evaluate(random_policy(env.action_space, SEED), "CartPole-v1", episodes=EPISODES)
    basic = rw.evaluate(basic_policy, "CartPole-v1", episodes=EPISODES, seed=0)
    print(f"\n{EPISODES} episodes (episode k reset with seed=k): mean, std, min, max")
    for name, result in [
        ("untrained network, sampled", untrained),
        ("untrained network, greedy", greedy),
        ("uniform random actions", uniform),
        ("basic policy", basic),
    ]:
        stats = (round(result.mean, 3), round(result.std, 2), result.min, result.max)
        print(f"  {name:<28} {stats}")
    assert abs(basic.mean - BASIC_MEAN) < 1e-9
    assert untrained.mean < basic.mean  # the network has to learn to beat the hard-coded policy
    print("the untrained stochastic policy is no better than random actions: it has to learn")


if __name__ == "__main__":
    main()
