"""DQN's hyperparameters: one dataclass whose fields pick the variant.

Double DQN, dueling heads, prioritized replay, n-step returns, distributional (C51) heads and noisy
nets are switches here, not subclasses: ``double=True`` picks the Double-DQN target, ``dueling``
the head, ``prioritized`` the buffer, ``distributional`` the loss. Rainbow is the preset that
turns all six on (``rlworks train dqn CartPole-v1 --preset rainbow``).

Counts (``learning_starts``, ``train_freq``, ``target_update_period``, ``exploration_duration``)
are environment steps summed over the sub-environments, or whole episodes with
``unit: episodes`` (the chapter's loop: one training step after each episode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from rlworks.errors import ConfigError
from rlworks.optim import OPTIMIZERS

__all__ = ["DQNConfig"]


@dataclass
class DQNConfig:
    """Hyperparameters of deep Q-learning and its variants.

    The defaults are a sound DQN for small classic-control tasks (Huber loss, Adam, a target
    network copied every 1,000 steps, ε from 1 to 0.05 over 10k steps); the presets hold the
    chapter's settings (``book``) and tuned ones per environment.
    """

    label = "DQN settings"

    # --- network
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    """Widths of the Q-network's hidden layers for vector observations (the chapter: [32, 32]);
    image observations use ``fc_layer_params``."""
    conv_layer_params: list[list[int]] | None = None
    """Convolutions for image observations, one [filters, kernel_size, stride] per layer, no
    padding (TF-Agents' ``conv_layer_params``). null: the Nature DQN's [[32, 8, 4], [64, 4, 2],
    [64, 3, 1]] when observations are images (a 3-D uint8 Box, channels first, e.g. 4 stacked
    84x84 frames), none for vector observations; [] flattens images into an MLP on
    ``hidden_sizes``. Frames stay uint8 until the network divides them by 255."""
    fc_layer_params: list[int] | None = None
    """Widths of the dense layers after the convolutions (TF-Agents' ``fc_layer_params``); null:
    [512], the Nature DQN's; [] puts the head straight on the convolutions. Unused without
    convolutions (vector observations use ``hidden_sizes``)."""
    activation: str = "relu"
    """Hidden activation: relu, elu, tanh, gelu, silu or leaky_relu (the chapter: elu)."""
    init: Literal["torch", "glorot", "orthogonal"] = "torch"
    """Weight initialization: torch's default, glorot (Keras', the chapter's) or orthogonal."""
    dueling: Literal["none", "mean", "max"] | bool = "none"
    """Dueling head: none; mean (Q = V + A - mean A, Wang et al.'s form); max (Q = V + A - max A,
    the chapter's form). true means mean, false none."""
    noisy: bool = False
    """Noisy linear layers after the first (Fortunato et al.): exploration by learned parameter
    noise, resampled at every gradient step; set the exploration rates to 0 with it."""
    noisy_sigma0: float = 0.5
    """Initial noise scale of noisy layers (σ0 / sqrt(fan-in))."""
    distributional: bool = False
    """Learn a categorical distribution of returns over ``atoms`` fixed values (C51) instead of
    their mean."""
    atoms: int = 51
    """Number of support points of the distributional head."""
    v_min: float = -10.0
    """Lowest return the distributional head can represent."""
    v_max: float = 10.0
    """Highest return the distributional head can represent."""

    # --- learning
    optimizer: Literal["adam", "nadam", "rmsprop", "sgd"] = "adam"
    """Optimizer: adam, nadam (the chapter's), rmsprop (the 2015 paper's, with rho 0.95 and
    centered) or sgd."""
    learning_rate: float = 1e-3
    """Step size of the optimizer."""
    optimizer_eps: float | None = None
    """Optimizer epsilon; null keeps Keras' 1e-7 (the 2015 paper's RMSprop used 0.01)."""
    rmsprop_rho: float = 0.95
    """RMSprop's squared-gradient decay."""
    rmsprop_centered: bool = True
    """Centered RMSprop (the 2015 paper's)."""
    loss: Literal["huber", "mse"] = "huber"
    """TD loss: huber (robust to large errors) or mse (the chapter's)."""
    huber_delta: float = 1.0
    """Where the Huber loss turns from quadratic to linear."""
    max_grad_norm: float | None = 10.0
    """Clip the global gradient norm to this value (null: no clipping)."""
    gamma: float = 0.99
    """Discount factor."""
    double: bool = False
    """Double DQN: the online network picks the next action, the target network values it."""
    n_step: int = 1
    """Rewards summed into each target before bootstrapping (n-step returns)."""

    # --- replay
    buffer_size: int = 100_000
    """Transitions kept in the replay buffer (the chapter: 2,000)."""
    frame_replay: Literal["auto", "on", "off"] = "auto"
    """Store stacked frames once each (:class:`~rlworks.buffers.FrameReplayBuffer`): auto for
    image observations of an env with the Atari preprocessing's frame stack (> 1 frame), on for
    any other stacked-frame observations ``[K, H, W]``, off for the plain buffer (which stores
    whole observations: right for images that are not frame stacks, such as RGB planes)."""
    batch_size: int = 64
    """Transitions per gradient step (the chapter: 32)."""
    prioritized: bool = False
    """Prioritized experience replay (Schaul et al.): sample by |TD error|^alpha."""
    priority_alpha: float = 0.6
    """How greedy prioritized sampling is (the chapter's ζ): 0 uniform, 1 fully prioritized."""
    priority_beta: float = 0.4
    """Initial importance-sampling exponent, annealed linearly to 1."""
    priority_beta_duration: int = 100_000
    """Units over which β reaches 1."""
    priority_eps: float = 1e-6
    """Added to |TD error| so that every transition keeps a chance of being sampled."""

    # --- schedule
    unit: Literal["steps", "episodes"] = "steps"
    """What the counts below count: environment steps or whole episodes (the chapter)."""
    learning_starts: int = 1_000
    """Collect this many units before the first gradient step (train once more have been
    collected)."""
    train_freq: int = 4
    """Collect this many units between training phases."""
    gradient_steps: int = 1
    """Gradient steps per ``train_freq`` units collected (a phase that collected more, because
    several environments stepped at once, takes proportionally more)."""
    target_update_period: int = 1_000
    """Update the target network each time the unit count passes a multiple of this."""
    tau: float = 1.0
    """Target update: 1 copies the online weights (fixed Q-targets); < 1 moves the target this
    fraction of the way (soft, Polyak updates)."""
    exploration_initial_eps: float = 1.0
    """ε of the ε-greedy collect policy at the start."""
    exploration_final_eps: float = 0.05
    """ε at the end of the schedule (and after)."""
    eval_epsilon: float = 0.0
    """ε of the evaluation policy (``act(explore=False)``): 0 for the greedy policy (the
    chapter's); the Nature paper evaluated its Atari agents with 0.05, which keeps a
    deterministic policy from repeating one losing move for ever. Drawn from a generator of
    its own, so evaluations leave training's random numbers alone."""
    exploration_duration: int = 10_000
    """Units over which ε goes from its initial to its final value."""
    exploration_schedule: Literal["linear", "polynomial", "exponential"] = "linear"
    """Shape of the ε schedule: linear; polynomial (TF-Agents' PolynomialDecay with
    ``exploration_power``); exponential (ε multiplied by a constant per unit, reaching the final
    value at ``exploration_duration``)."""
    exploration_power: float = 2.0
    """Exponent of the polynomial ε schedule."""
    keep_best: bool = False
    """Keep the weights that scored the best training episode so far, and act greedily with them
    (the chapter's ``best_weights``)."""

    # --- training architecture
    async_collection: bool = False
    """Overlap collection and learning (the chapter's two-part training architecture): once
    learning has started, each iteration's ``train_freq`` units are collected in a background
    thread, by the collect policy on the agent's own copy of the online network (the actor),
    while the learner takes that iteration's gradient steps in the calling thread on what the
    buffer held when it sampled. The ratio stays ``gradient_steps`` per ``train_freq`` units,
    as in the serial loop, and neither side gets more than one iteration ahead of the other:
    both are joined at the end of each iteration, so evaluation, checkpoints and the step
    budget see a paused, consistent agent. The replay buffer is guarded by a lock (held only to
    add a transition or gather a batch). Worth it when one gradient step costs about as much as
    collecting ``train_freq`` units or more (a CNN on Atari frames on a CPU) and a core is free
    for each side: on a machine already busy with other processes the two threads compete for
    the cores and the GIL, and the serial loop can be faster. One torch thread per side (the
    trainer's default for DQN; the collector thread takes the caller's count). Not
    bit-reproducible: which transitions a batch can draw depends on thread timing,
    the actor lags the learner by up to ``actor_sync_period`` gradient steps, and the collect
    policy draws its exploration from its own generator."""
    actor_sync_period: int = 4
    """With ``async_collection``: copy the online network's weights to the actor every this
    many gradient steps (at the end of an iteration)."""

    def __post_init__(self) -> None:
        """Spell a boolean ``dueling`` as the head it picks (true: mean, false: none)."""
        if isinstance(self.dueling, bool):
            self.dueling = "mean" if self.dueling else "none"

    @property
    def dueling_head(self) -> Literal["none", "mean", "max"]:
        """The dueling head's aggregation (``dueling`` after the boolean spelling)."""
        if isinstance(self.dueling, bool):
            return "mean" if self.dueling else "none"
        return self.dueling

    def validate(self) -> None:
        """Check ranges; raise :class:`ConfigError` naming the key."""
        positive_ints = (
            *("buffer_size", "batch_size", "train_freq", "gradient_steps", "atoms"),
            "actor_sync_period",
            *("target_update_period", "exploration_duration", "priority_beta_duration"),
        )
        for key in positive_ints:
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.learning_starts < 0:
            raise ConfigError(f"learning_starts must be >= 0, got {self.learning_starts}")
        if not 1 <= self.n_step <= 255:
            raise ConfigError(f"n_step must be an integer in [1, 255], got {self.n_step}")
        if self.batch_size > self.buffer_size:
            raise ConfigError(
                f"batch_size ({self.batch_size}) must be <= buffer_size ({self.buffer_size})"
            )
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ConfigError(f"learning_rate must be a positive number, got {self.learning_rate}")
        unit_interval = ("gamma", "priority_alpha", "priority_beta", "exploration_initial_eps")
        for key in (*unit_interval, "exploration_final_eps", "eval_epsilon", "rmsprop_rho"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"{key} must be in [0, 1], got {getattr(self, key)}")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau}")
        for key in ("huber_delta", "noisy_sigma0", "priority_eps", "exploration_power"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be > 0, got {getattr(self, key)}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be > 0 or null, got {self.max_grad_norm}")
        if self.optimizer_eps is not None and not self.optimizer_eps > 0:
            raise ConfigError(f"optimizer_eps must be > 0 or null, got {self.optimizer_eps}")
        if self.distributional and self.atoms < 2:
            raise ConfigError(f"atoms must be >= 2 for a distributional head, got {self.atoms}")
        if self.distributional and not self.v_min < self.v_max:
            raise ConfigError(f"v_min ({self.v_min}) must be < v_max ({self.v_max})")
        if not self.hidden_sizes or any(w < 1 for w in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must hold widths >= 1, got {self.hidden_sizes}")
        for i, layer in enumerate(self.conv_layer_params or []):
            if len(layer) != 3 or any(v < 1 for v in layer):
                raise ConfigError(
                    f"conv_layer_params[{i}] must be [filters, kernel_size, stride], three "
                    f"integers >= 1, got {layer}"
                )
        if self.fc_layer_params is not None and any(w < 1 for w in self.fc_layer_params):
            raise ConfigError(f"fc_layer_params must hold widths >= 1, got {self.fc_layer_params}")
        if self.exploration_schedule == "exponential" and not (
            0 < self.exploration_final_eps <= self.exploration_initial_eps
        ):
            raise ConfigError(
                "an exponential exploration schedule decays to a positive value: it needs "
                "0 < exploration_final_eps <= exploration_initial_eps"
            )
        if self.optimizer not in OPTIMIZERS:  # Literal already checked by config_from_dict
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
