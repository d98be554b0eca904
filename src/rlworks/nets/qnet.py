"""Q-networks of the DQN family: an MLP body with a scalar or distributional, plain or dueling head.

One class covers the variants as constructor options (composed, not subclassed):

* plain: ``Q(s, ·)`` from an MLP (Mnih et al. 2015);
* ``conv_layer_params``: image observations (uint8 ``[C, H, W]`` frames) go through a
  :class:`~rlworks.nets.cnn.NatureCNN` torso first, and the MLP body becomes its dense layers
  (the Nature DQN, and TF-Agents' ``QNetwork(conv_layer_params=..., fc_layer_params=...)``); every
  head below plugs onto it unchanged;
* ``dueling``: a value stream ``V(s)`` and an advantage stream ``A(s, ·)`` combined as
  ``Q = V + A - mean_a A`` (the paper's form, Wang et al. 2016, https://arxiv.org/abs/1511.06581)
  or ``Q = V + A - max_a A`` (the chapter's form, the book's Keras model);
* ``noisy``: factorized-Gaussian :class:`NoisyLinear` layers for exploration (Fortunato et al.
  2017, https://arxiv.org/abs/1706.10295);
* ``atoms > 1``: C51, a categorical return distribution on a fixed support per action
  (Bellemare et al. 2017, https://arxiv.org/abs/1707.06887).

This module owns the networks only; losses, targets and exploration schedules live with the agent.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlworks.errors import ConfigError
from rlworks.nets.cnn import NatureCNN
from rlworks.nets.mlp import ACTIVATIONS, Init, _affine, _numpy_activation, init_linear

__all__ = ["DUELING", "Dueling", "NoisyLinear", "QNetwork"]

Dueling = Literal["none", "mean", "max"]
DUELING = ("none", "mean", "max")
"""Dueling aggregations, by name."""


def _scaled_noise(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """``f(ε) = sign(ε)·sqrt(|ε|)`` for ``n`` standard-normal draws, on ``device``."""
    draw_on = generator.device if generator is not None else device
    eps = torch.randn(n, generator=generator, device=draw_on).to(device)  # [n]
    return eps.sign() * eps.abs().sqrt()


class NoisyLinear(nn.Module):
    """Factorized-Gaussian noisy linear layer.

    ``w = mu_w + sigma_w * (f(eps_out) ⊗ f(eps_in))`` with ``f(x) = sign(x)·sqrt(|x|)``, and
    ``b = mu_b + sigma_b * f(eps_out)``. Means start ``U(-1/sqrt(in), 1/sqrt(in))`` and standard
    deviations at ``sigma0/sqrt(in)``, the paper's initialization for factorized noise. The noise
    buffers start at zero, so a fresh layer is the mean linear layer until :meth:`reset_noise`.
    """

    weight_epsilon: torch.Tensor
    bias_epsilon: torch.Tensor

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5) -> None:
        """Build the layer (see the class docstring for the initialization)."""
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.sigma0 = sigma0
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        self.register_buffer("weight_epsilon", torch.zeros(out_features, in_features))
        self.register_buffer("bias_epsilon", torch.zeros(out_features))
        bound = 1.0 / math.sqrt(in_features)
        with torch.no_grad():
            self.weight_mu.uniform_(-bound, bound)
            self.bias_mu.uniform_(-bound, bound)
            self.weight_sigma.fill_(self.sigma0 * bound)
            self.bias_sigma.fill_(self.sigma0 * bound)

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        """Draw new noise: ``in_features`` normals, then ``out_features`` (from ``generator``,
        which may live on the CPU while the layer is on a GPU; torch's global RNG when None)."""
        device = self.weight_mu.device
        f_in = _scaled_noise(self.in_features, generator, device)  # [in]
        f_out = _scaled_noise(self.out_features, generator, device)  # [out]
        with torch.no_grad():
            self.weight_epsilon.copy_(torch.outer(f_out, f_in))  # [out, in]
            self.bias_epsilon.copy_(f_out)  # [out]

    def remove_noise(self) -> None:
        """Set the noise to zero: the layer becomes its mean linear layer."""
        self.weight_epsilon.zero_()
        self.bias_epsilon.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ w.T + b`` with the current noise: ``[N, in]`` → ``[N, out]``."""
        weight = self.weight_mu + self.weight_sigma * self.weight_epsilon  # [out, in]
        bias = self.bias_mu + self.bias_sigma * self.bias_epsilon  # [out]
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        """Widths and noise scale, for ``print(net)``."""
        return f"{self.in_features} → {self.out_features}, sigma0={self.sigma0}"


def _mean_weights(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The deterministic (mean) weight ``[out, in]`` and bias ``[out]`` of a linear layer."""
    if isinstance(layer, NoisyLinear):
        return layer.weight_mu, layer.bias_mu
    assert isinstance(layer, nn.Linear)
    return layer.weight, layer.bias


class QNetwork(nn.Module):
    """``Q(s, ·)`` for vector or image observations, with optional dueling, noisy and C51 parts.

    Vector observations are flattened; images (with ``conv_layer_params``) first go through a
    convolutional ``torso`` (:class:`~rlworks.nets.cnn.NatureCNN` without dense layers: uint8
    frames in, divided by 255 inside, flattened conv features out). The body is then
    ``Linear → activation`` per hidden width (TF-Agents' ``fc_layer_params``); the head maps the
    last hidden layer to ``n_actions × atoms`` outputs (plus a value stream of ``atoms`` outputs
    when dueling). With ``noisy=True`` every fully connected layer is a :class:`NoisyLinear`, as
    Rainbow makes them, except that a vector network's first layer stays an ordinary
    ``nn.Linear``, playing the part of Rainbow's (noise-free) convolutional encoder; on images the
    convolutions are that encoder and every dense layer is noisy. Noisy layers use the paper's
    initialization whatever ``init`` says.

    Example:
        >>> net = QNetwork(4, 2, [64, 64], dueling="mean", atoms=51, v_min=0.0, v_max=200.0)
        >>> q = net(torch.zeros(8, 4))            # [8, 2] expected returns
        >>> log_p = net.log_probs(torch.zeros(8, 4))  # [8, 2, 51]
        >>> atari = QNetwork((4, 84, 84), 4, [512], conv_layer_params=[(32, 8, 4), (64, 4, 2),
        ...                  (64, 3, 1)])             # the Nature DQN
        >>> q = atari(torch.zeros(8, 4, 84, 84, dtype=torch.uint8))  # [8, 4]
    """

    support: torch.Tensor

    def __init__(
        self,
        obs_dim: int | Sequence[int],
        n_actions: int,
        hidden_sizes: Sequence[int],
        *,
        conv_layer_params: Sequence[Sequence[int]] | None = None,
        input_scale: float | None = None,
        activation: str = "relu",
        init: Init = "torch",
        dueling: Dueling = "none",
        noisy: bool = False,
        noisy_sigma0: float = 0.5,
        atoms: int = 1,
        v_min: float = -10.0,
        v_max: float = 10.0,
    ) -> None:
        """Build the network.

        Args:
            obs_dim: Width of the flattened observation, or the observation's shape (vector
                observations are flattened); with ``conv_layer_params``, the image shape
                ``(channels, height, width)``.
            n_actions: Number of discrete actions.
            hidden_sizes: Widths of the hidden (dense) layers: at least one for vector
                observations; after convolutions (``fc_layer_params``) it may be empty.
            conv_layer_params: ``(filters, kernel_size, stride)`` per convolution of an image
                torso (see :mod:`rlworks.nets.cnn`); None for a plain MLP.
            input_scale: Observations are divided by this inside the network; None: 255 with a
                conv torso (uint8 pixels to ``[0, 1]``), 1 without. An MLP with a scale other
                than 1 (images flattened into it) runs through torch only.
            activation: Hidden activation name (see :data:`rlworks.nets.mlp.ACTIVATIONS`).
            init: Initialization of the ordinary linear layers (see :data:`Init`).
            dueling: ``none``, ``mean`` (``Q = V + A - mean A``) or ``max`` (``Q = V + A - max A``).
            noisy: Use :class:`NoisyLinear` for every dense layer after the first (for every
                dense layer after a conv torso).
            noisy_sigma0: ``sigma0`` of the noisy layers.
            atoms: 1 for scalar Q-values, ``>= 2`` for C51 atoms.
            v_min: Lowest atom of the C51 support.
            v_max: Highest atom of the C51 support.

        Raises:
            ConfigError: An argument out of range (the message names it).
        """
        super().__init__()
        obs_shape = (
            tuple(int(n) for n in obs_dim) if isinstance(obs_dim, Sequence) else (int(obs_dim),)
        )
        flat_dim = math.prod(obs_shape)
        _check_args(flat_dim, n_actions, hidden_sizes, activation, init, dueling, noisy_sigma0)
        if conv_layer_params is None and len(hidden_sizes) == 0:
            raise ConfigError("hidden_sizes must be non-empty widths >= 1, got []")
        if atoms < 1:
            raise ConfigError(f"atoms must be 1 (scalar Q) or >= 2 (C51), got {atoms}")
        if not (math.isfinite(v_min) and math.isfinite(v_max) and v_min < v_max):
            raise ConfigError(f"v_min must be < v_max (both finite), got {v_min} and {v_max}")
        self.obs_shape, self.obs_dim = obs_shape, flat_dim
        self.n_actions, self.atoms = n_actions, atoms
        self.dueling, self.noisy = dueling, noisy
        # The conv torso (None for vector observations) comes first in the parameter order.
        self.torso: NatureCNN | None = None
        if conv_layer_params is not None:
            self.torso = NatureCNN(
                obs_shape,
                conv_layer_params,
                (),
                activation=activation,
                init=init,
                input_scale=255.0 if input_scale is None else input_scale,
            )
        # Scale applied before the MLP when there is no torso (the torso scales its own input).
        self.input_scale = 1.0 if input_scale is None or self.torso is not None else input_scale
        if not (math.isfinite(self.input_scale) and self.input_scale > 0):
            raise ConfigError(f"input_scale must be a finite number > 0, got {input_scale}")
        features = flat_dim if self.torso is None else self.torso.out_features

        def linear(n_in: int, n_out: int, first: bool, gain: float) -> nn.Module:
            if noisy and not first:
                return NoisyLinear(n_in, n_out, noisy_sigma0)
            layer = nn.Linear(n_in, n_out)
            init_linear(layer, init, gain)
            return layer

        widths = [features, *hidden_sizes]
        layers: list[nn.Module] = []
        for i in range(len(hidden_sizes)):
            first = i == 0 and self.torso is None  # on images the convolutions are the encoder
            layers += [linear(widths[i], widths[i + 1], first, math.sqrt(2.0))]
            layers += [ACTIVATIONS[activation]()]
        self.body = nn.Sequential(*layers)
        self.head = linear(widths[-1], n_actions * atoms, False, 1.0)  # Q or advantage stream
        self.value = linear(widths[-1], atoms, False, 1.0) if dueling != "none" else None
        support = torch.linspace(v_min, v_max, atoms) if atoms > 1 else torch.empty(0)
        self.register_buffer("support", support)  # [atoms]
        self._numpy: _NumpyQ | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (and deep-copy) without the NumPy acting views (rebuilt on the next call)."""
        state = dict(self.__dict__)
        state["_numpy"] = None
        return state

    @property
    def is_plain_mlp(self) -> bool:
        """True when there is no conv torso nor input scaling, not noisy, ``atoms == 1`` and
        ``dueling == "none"``: a plain MLP."""
        return (
            self.torso is None
            and self.input_scale == 1.0
            and not self.noisy
            and self.atoms == 1
            and self.dueling == "none"
        )

    @property
    def is_conv(self) -> bool:
        """Whether observations go through a convolutional torso (image observations)."""
        return self.torso is not None

    def _outputs(self, obs: torch.Tensor) -> torch.Tensor:
        """Aggregated head outputs ``[B, A, atoms]``: Q-values or C51 logits."""
        if self.torso is not None:
            x = self.torso(obs)  # [B, F]: uint8 [B, C, H, W] scaled and convolved
        else:
            x = obs.reshape(obs.shape[0], -1).to(self.support.dtype)  # [B, D]
            if self.input_scale != 1.0:
                x = x / self.input_scale
        h = self.body(x)  # [B, H]
        out: torch.Tensor = self.head(h).reshape(-1, self.n_actions, self.atoms)  # [B, A, atoms]
        if self.value is None:
            return out
        value: torch.Tensor = self.value(h).reshape(-1, 1, self.atoms)  # [B, 1, atoms]
        if self.dueling == "mean":
            baseline = out.mean(dim=1, keepdim=True)  # [B, 1, atoms]
        else:
            baseline = out.max(dim=1, keepdim=True).values  # [B, 1, atoms]
        return value + out - baseline  # [B, A, atoms]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Q-values ``[B, A]`` (for C51 the expectation ``Σ softmax(logits)·support``)."""
        out = self._outputs(obs)  # [B, A, atoms]
        if self.atoms == 1:
            return out.squeeze(-1)  # [B, A]
        q: torch.Tensor = (out.softmax(dim=-1) * self.support).sum(dim=-1)  # [B, A]
        return q

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """C51 logits ``[B, A, atoms]``.

        Raises:
            ValueError: The network has scalar Q-values (``atoms == 1``).
        """
        if self.atoms == 1:
            raise ValueError("logits need a distributional network (atoms >= 2), got atoms=1")
        return self._outputs(obs)

    def log_probs(self, obs: torch.Tensor) -> torch.Tensor:
        """C51 log-probabilities over the atoms, ``[B, A, atoms]`` (``ValueError`` if atoms=1)."""
        return self.logits(obs).log_softmax(dim=-1)

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        """Draw new noise in every :class:`NoisyLinear` layer, in module order (no-op if none)."""
        for module in self.modules():
            if isinstance(module, NoisyLinear):
                module.reset_noise(generator)

    def remove_noise(self) -> None:
        """Zero the noise of every :class:`NoisyLinear` layer: the mean network."""
        for module in self.modules():
            if isinstance(module, NoisyLinear):
                module.remove_noise()

    def numpy_q(self, obs: np.ndarray) -> np.ndarray | None:
        """Q-values ``[N, A]`` (float32) of the deterministic network, computed in NumPy.

        The greedy-acting fast path (see :class:`~rlworks.nets.mlp.NumpyForward`): it reads the
        parameters in place, so optimizer steps and ``load_state_dict`` are seen at once. Noisy
        layers contribute their mean weights whatever the current noise; acting with noise goes
        through torch (``forward`` after ``reset_noise``).

        Returns:
            None when the network cannot run in NumPy (a conv torso, input scaling, parameters
            not CPU float32, or an activation without a NumPy form such as GELU); the caller
            then uses torch.
            A conv network answers None before ``obs`` is read (no float copy of the frames).
        """
        if self.torso is not None or self.input_scale != 1.0:
            return None
        if self._numpy is None:
            self._numpy = _NumpyQ(self)
        flat = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)  # [N, D]
        return self._numpy(flat)


def _check_args(
    obs_dim: int,
    n_actions: int,
    hidden_sizes: Sequence[int],
    activation: str,
    init: str,
    dueling: str,
    noisy_sigma0: float,
) -> None:
    """Raise :class:`ConfigError` naming the first out-of-range constructor argument."""
    if obs_dim < 1 or n_actions < 1:
        raise ConfigError(f"obs_dim and n_actions must be >= 1, got {obs_dim} and {n_actions}")
    if any(w < 1 for w in hidden_sizes):
        raise ConfigError(f"hidden_sizes must be non-empty widths >= 1, got {list(hidden_sizes)}")
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if init not in ("torch", "glorot", "orthogonal"):
        raise ConfigError(f"init must be torch, glorot or orthogonal, got {init!r}")
    if dueling not in DUELING:
        raise ConfigError(f"dueling must be one of {', '.join(DUELING)}, got {dueling!r}")
    if not noisy_sigma0 > 0:
        raise ConfigError(f"noisy_sigma0 must be > 0, got {noisy_sigma0}")


class _NumpyQ:
    """:meth:`QNetwork.numpy_q`'s NumPy program; mirrors :class:`~rlworks.nets.mlp.NumpyForward`:
    views of the parameters, rebuilt only when a parameter is replaced or its storage moves."""

    def __init__(self, net: QNetwork) -> None:
        self.net = net
        self._key: list[tuple[int, int]] | None = None
        self._ops: list[Callable[[np.ndarray], np.ndarray]] | None = None
        self._head: list[tuple[np.ndarray, np.ndarray]] = []  # (W.T [H, out], b [out]) views
        self._support = np.empty(0, dtype=np.float32)
        self._slots = [(m, name) for m in net.modules() for name in m._parameters]

    def _current_key(self) -> list[tuple[int, int]]:
        # Read the modules' parameter dicts directly: walking net.parameters() on every call
        # costs more than the small forward pass itself.
        tensors = [m._parameters[name] for m, name in self._slots]
        return [(id(t), t.data_ptr()) for t in (*tensors, self.net.support) if t is not None]

    def _build(self) -> None:
        self._key = self._current_key()
        self._ops = None
        net = self.net
        if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in net.parameters()):
            return
        ops: list[Callable[[np.ndarray], np.ndarray]] = []
        for layer in net.body:
            if isinstance(layer, nn.Linear | NoisyLinear):
                weight, bias = _mean_weights(layer)
                weight_t, b = weight.detach().numpy().T, bias.detach().numpy()  # [in, out], [out]
                ops.append(functools.partial(_affine, weight_t=weight_t, bias=b))
            else:
                activation = _numpy_activation(layer)
                if activation is None:
                    return
                ops.append(activation)
        streams = [net.head] if net.value is None else [net.head, net.value]
        self._head = [
            (w.detach().numpy().T, b.detach().numpy()) for w, b in map(_mean_weights, streams)
        ]
        self._support = net.support.detach().cpu().numpy()  # [atoms]
        self._ops = ops

    def __call__(self, x: np.ndarray) -> np.ndarray | None:
        if self._key != self._current_key():  # a parameter was replaced or moved: new views
            self._build()
        if self._ops is None:
            return None
        for op in self._ops:
            x = op(x)  # [N, H] after the body
        net = self.net
        w, b = self._head[0]
        out = (x @ w + b).reshape(len(x), net.n_actions, net.atoms)  # [N, A, atoms]
        if len(self._head) == 2:
            w_v, b_v = self._head[1]
            value = (x @ w_v + b_v).reshape(len(x), 1, net.atoms)  # [N, 1, atoms]
            reduce = np.mean if net.dueling == "mean" else np.max
            out = value + out - reduce(out, axis=1, keepdims=True)  # [N, A, atoms]
        if net.atoms == 1:
            q: np.ndarray = out[:, :, 0]  # [N, A]
        else:
            z = np.exp(out - out.max(axis=-1, keepdims=True))  # [N, A, atoms]
            q = (z * self._support).sum(axis=-1) / z.sum(axis=-1)  # [N, A]
        return q.astype(np.float32)
