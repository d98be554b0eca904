"""Stochastic policy networks: an MLP body and an action-distribution head.

Three heads cover the chapter's policies and the continuous case:

* ``bernoulli``: one sigmoid output for two actions, the chapter's CartPole network. The output is
  the probability of action 1 (the chapter's network outputs that of action 0, "left": the same
  model with the sign of its last layer flipped).
* ``categorical``: a softmax over ``n`` actions, as in the chapter's LunarLander exercise.
* ``gaussian``: a diagonal Gaussian for ``Box`` actions, with a state-independent learned
  log standard deviation.

Acting draws from the distribution with the caller's NumPy generator (one seed drives
everything); learning asks the network for log-probabilities and entropies of stored actions.
Gaussian samples are returned as drawn, not clipped: the classic-control and Box2D environments
clip actions to their bounds themselves (MuJoCo's control costs see the raw action), and the
log-probability must be that of the action drawn. The deterministic action (the mode) is
clipped to the bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlworks.envs.spaces import space_signature
from rlworks.errors import ConfigError, SpaceMismatchError
from rlworks.nets.mlp import Init, NumpyForward, as_float_batch, flat_size, mlp

__all__ = ["HEADS", "HeadName", "PolicyNetwork", "check_head", "resolve_head"]

HeadName = Literal["auto", "bernoulli", "categorical", "gaussian"]
HEADS = ("bernoulli", "categorical", "gaussian")
"""The action-distribution heads, by name."""

_NEEDS = {
    "bernoulli": "Discrete(2)",
    "categorical": "Discrete(n)",
    "gaussian": "a bounded or unbounded Box",
}


def resolve_head(head: str, action_space: gym.Space[Any]) -> str:
    """``auto`` → ``bernoulli`` for two actions, ``categorical`` for more, ``gaussian`` for Box."""
    if head != "auto":
        return head
    if isinstance(action_space, gym.spaces.Discrete):
        return "bernoulli" if int(action_space.n) == 2 else "categorical"
    return "gaussian"


def check_head(
    head: str,
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    env_name: str = "the environment",
) -> str:
    """Resolve ``head`` and check that it fits the spaces.

    Returns:
        The concrete head name.

    Raises:
        ConfigError: Unknown head name.
        SpaceMismatchError: The head cannot produce the env's actions (the message names the
            env's spaces and what the head needs).
    """
    if head not in ("auto", *HEADS):
        raise ConfigError(f"policy head must be auto, {', '.join(HEADS)}; got {head!r}")
    name = resolve_head(head, action_space)
    fits = {
        "bernoulli": isinstance(action_space, gym.spaces.Discrete) and int(action_space.n) == 2,
        "categorical": isinstance(action_space, gym.spaces.Discrete),
        "gaussian": isinstance(action_space, gym.spaces.Box),
    }[name]
    if not isinstance(observation_space, gym.spaces.Box):
        raise SpaceMismatchError(
            f"policy networks read Box observations; {env_name} has observations "
            f"{space_signature(observation_space)}"
        )
    if not fits:
        hint = (
            " (use the bernoulli or categorical head for discrete actions)"
            if name == "gaussian"
            else " (use the gaussian head for continuous actions)"
        )
        raise SpaceMismatchError(
            f"the {name} policy head needs {_NEEDS[name]} actions, but {env_name} has actions "
            f"{space_signature(action_space)} (observations "
            f"{space_signature(observation_space)}){hint}"
        )
    return name


class PolicyNetwork(nn.Module):
    """An MLP mapping flattened observations to an action distribution.

    Example:
        >>> env = rlworks.make_env("CartPole-v1", n_envs=4, seed=0)
        >>> obs, _ = env.reset(seed=0)
        >>> net = PolicyNetwork(env.single_observation_space, env.single_action_space, [5])
        >>> actions = net.sample(obs, np.random.default_rng(0))   # [4] int64
        >>> log_probs = net.log_prob(torch.as_tensor(obs), torch.as_tensor(actions))  # [4]
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        hidden_sizes: Sequence[int] = (64, 64),
        *,
        head: str = "auto",
        activation: str = "relu",
        init: Init = "torch",
        output_gain: float = 1.0,
        log_std_init: float = 0.0,
        env_name: str = "the environment",
    ) -> None:
        """Build the network.

        Args:
            observation_space: Single observation space (Box).
            action_space: Single action space: Discrete for bernoulli/categorical, Box for
                gaussian.
            hidden_sizes: Widths of the hidden layers.
            head: ``auto``, ``bernoulli``, ``categorical`` or ``gaussian``.
            activation: Hidden activation name (see :data:`rlworks.nets.mlp.ACTIVATIONS`).
            init: Weight initialization.
            output_gain: Orthogonal gain of the output layer.
            log_std_init: Initial log standard deviation of the gaussian head.
            env_name: Environment name used in error messages.

        Raises:
            SpaceMismatchError: The head does not fit the action space.
        """
        super().__init__()
        self.head = check_head(head, observation_space, action_space, env_name)
        self.obs_dim = flat_size(observation_space.shape)
        self.action_space = action_space
        if isinstance(action_space, gym.spaces.Discrete):
            self.action_start = int(action_space.start)
            out = 1 if self.head == "bernoulli" else int(action_space.n)
            self.action_shape: tuple[int, ...] = ()
        else:
            assert isinstance(action_space, gym.spaces.Box)
            self.action_start = 0
            self.action_shape = tuple(action_space.shape)
            out = flat_size(action_space.shape)
            self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32))
        self.body = mlp(
            self.obs_dim,
            hidden_sizes,
            out,
            activation=activation,
            init=init,
            output_gain=output_gain,
        )
        self._numpy: NumpyForward | None = None
        self.log_std = nn.Parameter(
            torch.full((out,), float(log_std_init)), requires_grad=self.head == "gaussian"
        )

    # ------------------------------------------------------------------ distributions
    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the NumPy acting views (rebuilt on the next call)."""
        state = dict(self.__dict__)
        state["_numpy"] = None
        return state

    def outputs(self, obs: np.ndarray) -> np.ndarray:
        """Raw head outputs for NumPy observations, without gradient: ``[N, out]``.

        Runs in NumPy when the network is on the CPU in float32 (see
        :class:`~rlworks.nets.mlp.NumpyForward`), else through torch.
        """
        if self._numpy is None:
            self._numpy = NumpyForward(self.body)
        flat = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)  # [N, D]
        fast = self._numpy(flat)
        if fast is not None:
            return fast
        with torch.inference_mode():
            out: np.ndarray = self(as_float_batch(obs, self.log_std.device)).cpu().numpy()
        return out

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw head outputs ``[N, out]``: a logit (bernoulli), logits or Gaussian means."""
        out: torch.Tensor = self.body(obs.reshape(obs.shape[0], -1).to(self.log_std.dtype))
        return out

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Distribution:
        """The action distribution for a batch of observations (batch shape ``[N]``)."""
        out = self(obs)  # [N, out]
        if self.head == "bernoulli":
            return torch.distributions.Bernoulli(logits=out.squeeze(-1))  # P(action 1)
        if self.head == "categorical":
            return torch.distributions.Categorical(logits=out)
        std = self.log_std.exp().expand_as(out)  # [N, A]
        return torch.distributions.Independent(torch.distributions.Normal(out, std), 1)

    def _stored(self, actions: torch.Tensor) -> torch.Tensor:
        """Stored actions in the form the distribution scores them."""
        if self.head == "gaussian":
            return actions.reshape(actions.shape[0], -1).to(self.log_std.dtype)  # [N, A]
        if self.head == "bernoulli":
            return (actions.reshape(-1) - self.action_start).to(self.log_std.dtype)  # [N] {0, 1}
        return actions.reshape(-1).long() - self.action_start  # [N]

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``log π(a | s)`` of stored actions, ``[N]``."""
        log_prob: torch.Tensor = self.distribution(obs).log_prob(self._stored(actions))
        return log_prob

    def log_prob_and_entropy(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``log π(a | s)`` and the distribution's entropy, both ``[N]``, from one forward pass."""
        dist = self.distribution(obs)
        return dist.log_prob(self._stored(actions)), dist.entropy()

    # ------------------------------------------------------------------ acting
    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw one action per observation with ``rng``.

        Args:
            obs: Observations ``[N, *obs_shape]``.
            rng: The agent's NumPy generator.

        Returns:
            Actions ``[N]`` (int64) for discrete heads, ``[N, *action_shape]`` (float32) for the
            gaussian head.
        """
        out = self.outputs(obs)  # [N, out]
        n = out.shape[0]
        actions: np.ndarray
        if self.head == "bernoulli":
            p1 = 1.0 / (1.0 + np.exp(-out[:, 0].astype(np.float64)))  # [N]
            actions = (rng.random(n) < p1).astype(np.int64) + self.action_start
        elif self.head == "categorical":
            logits = out.astype(np.float64)  # [N, A]
            # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits).
            gumbel = -np.log(-np.log(rng.random(logits.shape)))
            actions = (logits + gumbel).argmax(axis=1).astype(np.int64) + self.action_start
        else:
            std = np.exp(self.log_std.detach().cpu().numpy())  # [A]
            noisy = out + std * rng.standard_normal(out.shape)  # [N, A]
            actions = noisy.astype(np.float32).reshape(n, *self.action_shape)
        return actions

    def mode(self, obs: np.ndarray) -> np.ndarray:
        """The most likely action per observation (Gaussian means clipped to the bounds)."""
        out = self.outputs(obs)  # [N, out]
        if self.head == "gaussian":
            low = self.get_buffer("low").cpu().numpy().reshape(-1)
            high = self.get_buffer("high").cpu().numpy().reshape(-1)
            clipped: np.ndarray = np.clip(out, low, high).astype(np.float32)  # [N, A]
            return clipped.reshape(out.shape[0], *self.action_shape)
        best = out[:, 0] > 0 if self.head == "bernoulli" else out.argmax(axis=1)  # [N]
        actions: np.ndarray = best.astype(np.int64) + self.action_start
        return actions
