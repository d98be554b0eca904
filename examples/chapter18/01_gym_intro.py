"""Chapter 18, "Introduction to OpenAI Gym": make CartPole, reset it, look at one step.

Reproduces the chapter's printed values (Gymnasium's CartPole with ``reset(seed=42)``)::

    obs after reset(seed=42):  [ 0.0273956  -0.00611216  0.03585979  0.0197368 ]
    obs after step(1):         [ 0.02727336  0.18847767  0.03625453 -0.26141977]

Run: ``python examples/chapter18/01_gym_intro.py``
"""

from __future__ import annotations

import numpy as np

import rlworks as rw

BOOK_RESET_OBS = np.array([0.0273956, -0.00611216, 0.03585979, 0.0197368], dtype=np.float32)
BOOK_STEP_OBS = np.array([0.02727336, 0.18847767, 0.03625453, -0.26141977], dtype=np.float32)


def main() -> None:
    """Print the environment's spaces and the chapter's first observations."""
    env = rw.envs.make_single_env("CartPole-v1", render_mode="rgb_array")
    print("spec:", env.spec)
    print("observation space:", env.observation_space)
    print("action space:", env.action_space)

    obs, info = env.reset(seed=42)
    print("obs after reset(seed=42):", obs, info)
    img = env.render()
    assert img is not None
    print("rendered frame shape (height, width, channels):", img.shape)

    action = 1  # accelerate right: the pole leans right (obs[2] > 0)
    obs2, reward, terminated, truncated, info = env.step(action)
    print("obs after step(1):", obs2)
    print("reward:", reward, "terminated:", terminated, "truncated:", truncated, "info:", info)
    env.close()

    np.testing.assert_allclose(obs, BOOK_RESET_OBS, rtol=0, atol=1e-7)
    np.testing.assert_allclose(obs2, BOOK_STEP_OBS, rtol=0, atol=1e-7)
    print("matches the chapter's printed observations")


if __name__ == "__main__":
    main()
