"""ActorCritic: NumPy acting agrees with the torch learning path, heads fit the spaces."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlworks.errors import SpaceMismatchError
from rlworks.nets import ActorCritic, seeded
from rlworks.nets.actor_critic import require_bounded_actions

OBS = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)


@pytest.mark.parametrize(
    "action_space",
    [gym.spaces.Discrete(4, start=1), gym.spaces.Box(-2.0, 2.0, (2,), np.float32)],
)
def test_numpy_acting_matches_torch_log_probs_and_values(action_space: gym.Space) -> None:
    with seeded(0):
        net = ActorCritic(OBS, action_space, [16], [8], log_std_init=-0.5)
    obs = np.random.default_rng(1).normal(size=(32, 3)).astype(np.float32)
    actions, log_probs, values = net.act(obs, np.random.default_rng(2))
    assert log_probs.shape == values.shape == (32,)
    log_prob, entropy, value = net.evaluate(torch.as_tensor(obs), torch.as_tensor(actions))
    np.testing.assert_allclose(log_probs, log_prob.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(values, value.detach().numpy(), atol=1e-5)
    if isinstance(action_space, gym.spaces.Discrete):
        assert actions.dtype == np.int64 and set(actions.tolist()) <= {1, 2, 3, 4}
        # near-uniform initial policy (output gain 0.01): entropy ≈ log 4
        np.testing.assert_allclose(entropy.detach().numpy(), np.log(4), atol=1e-2)
    else:
        assert actions.shape == (32, 2) and actions.dtype == np.float32
        # diagonal Gaussian entropy: Σ (0.5 + 0.5 log 2π + log σ) = 2 * (1.4189 - 0.5)
        np.testing.assert_allclose(entropy.detach().numpy(), 2 * (1.4189385 - 0.5), atol=1e-5)
        assert np.abs(net.clip(actions * 100)).max() <= 2.0


def test_sampling_follows_the_policy_and_the_mode_is_greedy() -> None:
    with seeded(0):
        net = ActorCritic(OBS, gym.spaces.Discrete(2), [4], [4])
    with torch.no_grad():  # logits (0, log 3): P(action 1) = 3/4
        for p in net.actor.parameters():
            p.zero_()
        net.actor[-1].bias[1] = float(np.log(3.0))  # type: ignore[index]
    obs = np.zeros((20_000, 3), np.float32)
    actions, log_probs, _ = net.act(obs, np.random.default_rng(0))
    assert abs(actions.mean() - 0.75) < 0.01
    np.testing.assert_allclose(log_probs[actions == 1], np.log(0.75), rtol=1e-5)
    assert net.mode(obs[:3]).tolist() == [1, 1, 1]


def test_spaces_are_checked() -> None:
    with pytest.raises(SpaceMismatchError, match="Box observations"):
        ActorCritic(gym.spaces.Discrete(3), gym.spaces.Discrete(2))
    with pytest.raises(SpaceMismatchError, match="Discrete or Box actions"):
        ActorCritic(OBS, gym.spaces.MultiBinary(2))
    unbounded = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    with pytest.raises(
        SpaceMismatchError, match=r"unbounded actions \(low=\[-inf\], high=\[inf\]\)"
    ):
        require_bounded_actions(unbounded, "ppo", "MyEnv-v0")


def test_scale_obs_maps_the_bounds_onto_minus_one_one_in_acting_and_learning() -> None:
    # MountainCar's bounds: position in [-1.2, 0.6], velocity in [-0.07, 0.07].
    space = gym.spaces.Box(np.array([-1.2, -0.07]), np.array([0.6, 0.07]), dtype=np.float32)
    with seeded(0):
        scaled = ActorCritic(space, gym.spaces.Discrete(3), [8], [8], scale_obs=True)
    with seeded(0):
        plain = ActorCritic(space, gym.spaces.Discrete(3), [8], [8])  # the same weights
    obs = np.array([[-1.2, -0.07], [0.6, 0.07], [-0.3, 0.0], [-0.5, 0.035]], np.float32)
    # (x - center) / half-width: center (-0.3, 0), half-widths (0.9, 0.07);
    # -0.5 → -0.2 / 0.9 = -0.2222, 0.035 → 0.5.
    expected = np.array([[-1, -1], [1, 1], [0, 0], [-0.2 / 0.9, 0.5]], np.float32)
    np.testing.assert_allclose(scaled.prepare_obs(obs), expected, atol=1e-6)
    np.testing.assert_allclose(
        scaled.predict_values(obs), plain.predict_values(expected), atol=1e-6
    )
    actions = np.array([0, 1, 2, 1])
    log_prob, _, value = scaled.evaluate(torch.as_tensor(obs), torch.as_tensor(actions))
    ref_log_prob, _, ref_value = plain.evaluate(torch.as_tensor(expected), torch.as_tensor(actions))
    torch.testing.assert_close(log_prob, ref_log_prob)
    torch.testing.assert_close(value, ref_value)
    assert "obs_center" not in scaled.state_dict()  # derived from the space, not saved
    with pytest.raises(SpaceMismatchError, match=r"scale_obs .* low=\[-inf, -inf, -inf\]"):
        ActorCritic(OBS, gym.spaces.Discrete(2), scale_obs=True, env_name="MyEnv-v0")
