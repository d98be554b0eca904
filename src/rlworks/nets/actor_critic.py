"""Actor-critic networks: a policy (actor) MLP and a separate state-value (critic) MLP.

The actor-critic family (A2C, PPO) needs, for a batch of observations, an action drawn from the
policy with its log-probability and the critic's value estimate while acting, and the
log-probabilities, entropies and values of stored actions while learning. The actor and the
critic are separate MLPs (no shared body), orthogonally initialized with gain ``sqrt(2)`` on the
hidden layers, 0.01 on the policy output (a near-uniform initial policy) and 1 on the value
output, as in Stable-Baselines3's defaults.

Heads:

* ``categorical`` for ``Discrete(n)`` actions: softmax over ``n`` logits;
* ``gaussian`` for ``Box`` actions: a diagonal Gaussian whose mean is the actor's output and
  whose log standard deviation is a learned state-independent vector.

With ``scale_obs`` the networks see observations mapped affinely from the Box bounds onto
``[-1, 1]``, in acting and learning alike (a fixed input transform, part of the network like the
``/ 255`` of an image network, so that evaluation, checkpoints and ``rlworks record`` need no
environment wrapper). It matters where the bounds differ by orders of magnitude:
MountainCar's position spans 1.8 and its velocity 0.14.

Acting runs in NumPy (:class:`~rlworks.nets.mlp.NumpyForward`) when the networks are CPU float32
MLPs: for a few observations torch's per-call overhead costs more than the arithmetic. Sampled
actions are returned as drawn; clipping Gaussian actions to the Box bounds is the caller's job
(the log-probability is that of the action drawn).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlworks.envs.spaces import require_bounded_actions, space_signature
from rlworks.errors import SpaceMismatchError
from rlworks.nets.mlp import Init, NumpyForward, as_float_batch, flat_size, mlp
from rlworks.nets.numpy_mlp import (
    HALF_LOG_2PI,
    box_scaling,
    mode_actions,
    sample_actions,
    scale_inputs,
)

__all__ = ["ActorCritic", "ActorCriticSettings", "make_actor_critic", "require_bounded_actions"]


class _SlotNumpyForward(NumpyForward):
    """:class:`NumpyForward` with a cheaper staleness check: it reads the layers' parameter
    dicts directly instead of walking ``body.parameters()``, which cost more than the
    ``[8, 64]`` forward pass itself (as :class:`~rlworks.nets.qnet.QNetwork`'s NumPy path does)."""

    def __init__(self, body: nn.Sequential) -> None:
        super().__init__(body)
        self._slots = [(m, name) for m in body.modules() for name in m._parameters]

    def _current_key(self) -> list[tuple[int, int]]:
        tensors = [m._parameters[name] for m, name in self._slots]
        return [(id(t), t.data_ptr()) for t in tensors if t is not None]


class ActorCritic(nn.Module):
    """Separate MLP actor and critic for Box observations and Discrete or Box actions.

    Example:
        >>> env = rlworks.make_env("CartPole-v1", n_envs=8, seed=0)
        >>> net = ActorCritic(env.single_observation_space, env.single_action_space)
        >>> obs, _ = env.reset()
        >>> actions, log_probs, values = net.act(obs, np.random.default_rng(0))  # [8] each
        >>> log_prob, entropy, value = net.evaluate(torch.as_tensor(obs),
        ...                                         torch.as_tensor(actions))
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        actor_hidden_sizes: Sequence[int] = (64, 64),
        critic_hidden_sizes: Sequence[int] = (64, 64),
        *,
        activation: str = "tanh",
        init: Init = "orthogonal",
        log_std_init: float = 0.0,
        scale_obs: bool = False,
        env_name: str = "the environment",
    ) -> None:
        """Build both networks.

        Args:
            observation_space: Single observation space (Box).
            action_space: Single action space (Discrete or Box).
            actor_hidden_sizes: Hidden widths of the policy network.
            critic_hidden_sizes: Hidden widths of the value network.
            activation: Hidden activation (see :data:`rlworks.nets.mlp.ACTIVATIONS`).
            init: Weight initialization; ``orthogonal`` uses the gains described above.
            log_std_init: Initial log standard deviation of the Gaussian head.
            scale_obs: Map observations from the Box bounds onto ``[-1, 1]`` before both
                networks (the bounds must be finite).
            env_name: Environment name for error messages.

        Raises:
            SpaceMismatchError: Observations that are not a Box, actions that are neither
                Discrete nor Box, or ``scale_obs`` with an unbounded observation space.
        """
        super().__init__()
        if not isinstance(observation_space, gym.spaces.Box):
            raise SpaceMismatchError(
                f"actor-critic networks read Box observations; {env_name} has observations "
                f"{space_signature(observation_space)}"
            )
        self.obs_dim = flat_size(observation_space.shape)
        self.scale_obs = scale_obs
        if scale_obs:
            # x' = (x - center) / half_width, as float32 NumPy arrays and torch buffers.
            center, inv_half = box_scaling(observation_space, True, env_name)
            assert center is not None and inv_half is not None
            self._obs_center, self._obs_inv_half = center, inv_half  # [D] each
            self.register_buffer("obs_center", torch.from_numpy(self._obs_center), persistent=False)
            self.register_buffer(
                "obs_inv_half", torch.from_numpy(self._obs_inv_half), persistent=False
            )
        self.head: Literal["categorical", "gaussian"]
        if isinstance(action_space, gym.spaces.Discrete):
            self.head = "categorical"
            self.action_start = int(action_space.start)
            self.action_shape: tuple[int, ...] = ()
            out = int(action_space.n)
        elif isinstance(action_space, gym.spaces.Box):
            self.head = "gaussian"
            self.action_start = 0
            self.action_shape = tuple(action_space.shape)
            out = flat_size(action_space.shape)
        else:
            raise SpaceMismatchError(
                f"actor-critic networks need Discrete or Box actions; {env_name} has actions "
                f"{space_signature(action_space)}"
            )
        self.n_outputs = out
        self.actor = mlp(
            self.obs_dim, actor_hidden_sizes, out, activation=activation, init=init,
            output_gain=0.01,
        )  # fmt: skip
        self.critic = mlp(
            self.obs_dim, critic_hidden_sizes, 1, activation=activation, init=init,
            output_gain=1.0,
        )  # fmt: skip
        if self.head == "gaussian":
            self.log_std = nn.Parameter(torch.full((out,), float(log_std_init)))
            assert isinstance(action_space, gym.spaces.Box)
            self._low = np.asarray(action_space.low, dtype=np.float32)
            self._high = np.asarray(action_space.high, dtype=np.float32)
        self._actor_np: NumpyForward | None = None
        self._critic_np: NumpyForward | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the NumPy acting views (rebuilt on the next call)."""
        state = dict(self.__dict__)
        state["_actor_np"] = state["_critic_np"] = None
        return state

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device

    def prepare_obs(self, flat: np.ndarray) -> np.ndarray:
        """What the networks read for flat float32 observations ``[N, D]``: the input itself,
        or with ``scale_obs`` its map onto ``[-1, 1]`` (a new array)."""
        if not self.scale_obs:
            return flat
        return scale_inputs(flat, self._obs_center, self._obs_inv_half)

    # ------------------------------------------------------------------ NumPy acting
    def _run(self, which: Literal["actor", "critic"], obs: np.ndarray) -> np.ndarray:
        """``actor(obs)`` or ``critic(obs)`` without gradient, in NumPy when possible."""
        if self._actor_np is None or self._critic_np is None:
            self._actor_np = _SlotNumpyForward(self.actor)
            self._critic_np = _SlotNumpyForward(self.critic)
        fwd = self._actor_np if which == "actor" else self._critic_np
        flat = self.prepare_obs(np.asarray(obs, dtype=np.float32).reshape(len(obs), -1))  # [N, D]
        out = fwd(flat)
        if out is not None:
            return out
        body = self.actor if which == "actor" else self.critic
        with torch.inference_mode():
            result: np.ndarray = body(as_float_batch(flat, self.device)).cpu().numpy()
        return result

    def predict_values(self, obs: np.ndarray) -> np.ndarray:
        """``V(s)`` of NumPy observations ``[N, *obs_shape]`` → ``[N]`` float32."""
        values: np.ndarray = self._run("critic", obs)[:, 0]
        return values

    def act(
        self, obs: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample one action per observation with ``rng``.

        Returns:
            ``(actions, log_probs, values)``: actions ``[N]`` int64 (categorical) or
            ``[N, *action_shape]`` float32 (gaussian, unclipped), ``log π(a | s)`` ``[N]``
            float32 and ``V(s)`` ``[N]`` float32.
        """
        log_std = self.log_std.detach().cpu().numpy() if self.head == "gaussian" else None
        actions, log_probs = sample_actions(
            self._run("actor", obs), self.head, rng, log_std=log_std,
            action_start=self.action_start, action_shape=self.action_shape,
        )  # fmt: skip
        return actions, log_probs, self.predict_values(obs)

    def mode(self, obs: np.ndarray) -> np.ndarray:
        """The most likely action per observation (the Gaussian mean, unclipped)."""
        return mode_actions(
            self._run("actor", obs), self.head,
            action_start=self.action_start, action_shape=self.action_shape,
        )  # fmt: skip

    def clip(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the environment should receive them: Gaussian actions clipped to the Box
        bounds, discrete actions unchanged."""
        if self.head == "gaussian":
            clipped: np.ndarray = np.clip(actions, self._low, self._high)
            return clipped
        return actions

    # ------------------------------------------------------------------ learning
    def evaluate(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probabilities and entropies of stored actions and the values, with gradient.

        Args:
            obs: ``[B, *obs_shape]`` float32.
            actions: ``[B]`` integer (categorical) or ``[B, *action_shape]`` (gaussian).

        Returns:
            ``(log π(a | s) [B], entropy of π(· | s) [B], V(s) [B])``.
        """
        x = obs.reshape(obs.shape[0], -1)  # [B, D]
        if self.scale_obs:
            x = (x - self.get_buffer("obs_center")) * self.get_buffer("obs_inv_half")
        out = self.actor(x)  # [B, out]
        if self.head == "categorical":
            log_p = out.log_softmax(dim=-1)  # [B, A]
            index = (actions.reshape(-1, 1) - self.action_start).long()  # [B, 1]
            log_prob = log_p.gather(1, index).squeeze(1)  # [B]
            entropy = -(log_p.exp() * log_p).sum(dim=-1)  # [B]
        else:
            a = actions.reshape(actions.shape[0], -1)  # [B, A]
            z = (a - out) * torch.exp(-self.log_std)  # [B, A]
            log_norm = self.log_std.sum() + self.n_outputs * HALF_LOG_2PI
            log_prob = -0.5 * (z * z).sum(dim=-1) - log_norm  # [B]
            entropy = (log_norm + 0.5 * self.n_outputs).expand(out.shape[0])  # [B]
        value = self.critic(x).squeeze(-1)  # [B]
        return log_prob, entropy, value


class ActorCriticSettings(Protocol):
    """The network fields an algorithm's config carries (``A2CConfig``, ``PPOConfig``)."""

    @property
    def actor_hidden_sizes(self) -> Sequence[int]: ...
    @property
    def critic_hidden_sizes(self) -> Sequence[int]: ...
    @property
    def activation(self) -> str: ...
    @property
    def init(self) -> Init: ...
    @property
    def log_std_init(self) -> float: ...
    @property
    def scale_obs(self) -> bool: ...


def make_actor_critic(
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    config: ActorCriticSettings,
    env_name: str,
) -> ActorCritic:
    """The actor-critic network ``config`` describes (CPU; seed torch around the call)."""
    return ActorCritic(
        observation_space,
        action_space,
        config.actor_hidden_sizes,
        config.critic_hidden_sizes,
        activation=config.activation,
        init=config.init,
        log_std_init=config.log_std_init,
        scale_obs=config.scale_obs,
        env_name=env_name,
    )
