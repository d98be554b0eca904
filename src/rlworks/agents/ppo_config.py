"""PPO's hyperparameters, without importing torch.

Both PPO engines read :class:`PPOConfig`: :class:`~rlworks.agents.ppo.PPO` (torch) and
:class:`~rlworks.agents.ppo_numpy.NumpyPPO` (NumPy alone). Keeping it in a module of its own lets
``rlworks train ppo ... --device cpu`` resolve its settings and train without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from rlworks.curiosity.settings import check_curiosity
from rlworks.errors import ConfigError
from rlworks.nets.names import ACTIVATION_NAMES, Init

__all__ = ["PPOConfig"]


# ----------------------------------------------------------------------------- config
@dataclass
class PPOConfig:
    """Hyperparameters of PPO. The defaults are Stable-Baselines3's."""

    label = "PPO settings"

    n_steps: int = 2048
    """Steps played in each sub-environment per rollout (the rollout holds n_steps * n_envs)."""
    batch_size: int = 64
    """Minibatch size of the gradient steps; must divide n_steps * n_envs."""
    n_epochs: int = 10
    """Passes over the rollout per update."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE λ: 0 gives one-step TD advantages, 1 Monte-Carlo advantages."""
    learning_rate: float = 3e-4
    """Adam step size (its initial value when anneal_lr is set)."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to 0 over anneal_steps environment steps."""
    clip_range: float = 0.2
    """ε of the clipped surrogate: the probability ratio is kept within [1 - ε, 1 + ε]."""
    anneal_clip_range: bool = False
    """Decay clip_range linearly to 0 over anneal_steps environment steps."""
    anneal_steps: int = 1_000_000
    """Environment steps over which annealed values fall to 0 (set it to the run's budget, as
    rl-zoo's ``lin_`` schedules do)."""
    clip_range_vf: float | None = None
    """Clip each value prediction to within this distance of its rollout-time value (None:
    no value clipping). Depends on the scale of the returns."""
    normalize_advantages: bool = True
    """Normalize the advantages of each minibatch (mean 0, std 1)."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float | None = 0.5
    """Clip the global gradient norm to this value (None: no clipping)."""
    target_kl: float | None = None
    """Stop the update's epochs early once a minibatch's approximate KL divergence from the
    rollout's policy exceeds 1.5 * target_kl (None: never)."""
    actor_hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the policy network."""
    critic_hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the value network."""
    activation: str = "tanh"
    """Hidden activation: relu, elu, tanh, gelu, silu or leaky_relu."""
    init: Init = "orthogonal"
    """Weight initialization: orthogonal (gains sqrt(2), 0.01 policy output, 1 value output),
    glorot or torch."""
    log_std_init: float = 0.0
    """Initial log standard deviation of the Gaussian policy (Box actions)."""
    scale_obs: bool = False
    """Map observations from their (finite) Box bounds onto [-1, 1] inside the networks; for
    observations whose scales differ by orders of magnitude (MountainCar-v0)."""
    adam_eps: float = 1e-5
    """Adam's epsilon."""
    curiosity: Literal["none", "rnd", "icm"] = "none"
    """Intrinsic reward for exploration: none, rnd (random network distillation) or icm
    (intrinsic curiosity module); see :mod:`rlworks.curiosity`."""
    intrinsic_coef: float = 1.0
    """Weight of the (normalized) intrinsic reward added to the extrinsic one before GAE."""
    curiosity_settings: dict[str, Any] = field(default_factory=dict)
    """Fields of :class:`rlworks.curiosity.CuriosityConfig` (learning_rate, hidden_sizes, ...)."""
    engine: Literal["auto", "torch", "numpy"] = "auto"
    """What runs the networks: torch (:class:`~rlworks.agents.ppo.PPO`), numpy
    (:class:`~rlworks.agents.ppo_numpy.NumpyPPO`: no torch at all, for plain tanh/relu MLPs on
    a CPU without curiosity) or auto (``rlworks train``: numpy when it applies and the device
    is cpu, else torch). Both train the same algorithm and write the same checkpoints."""

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        for key in ("n_steps", "batch_size", "n_epochs", "anneal_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"{key} must be in [0, 1], got {getattr(self, key)}")
        for key in ("learning_rate", "clip_range", "adam_eps"):
            value = getattr(self, key)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be a positive number, got {value}")
        for key in ("ent_coef", "vf_coef"):
            value = getattr(self, key)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be >= 0, got {value}")
        for key in ("clip_range_vf", "max_grad_norm", "target_kl"):
            value = getattr(self, key)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{key} must be > 0 or null, got {value}")
        for key in ("actor_hidden_sizes", "critic_hidden_sizes"):
            if any(w < 1 for w in getattr(self, key)):
                raise ConfigError(f"{key} must hold widths >= 1, got {getattr(self, key)}")
        if self.activation not in ACTIVATION_NAMES:
            raise ConfigError(
                f"activation must be one of {', '.join(ACTIVATION_NAMES)}, got {self.activation!r}"
            )
        if self.init not in ("torch", "glorot", "orthogonal"):
            raise ConfigError(f"init must be torch, glorot or orthogonal, got {self.init!r}")
        if self.engine not in ("auto", "torch", "numpy"):
            raise ConfigError(f"engine must be auto, torch or numpy, got {self.engine!r}")
        check_curiosity(self.curiosity, self.intrinsic_coef, self.curiosity_settings)
