"""The PPO loss and its gradient for small MLP actor-critics, computed by hand.

For the ``[64, 64]`` tanh actor and critic of classic-control tasks one PPO minibatch step is a
dozen small matrix products; through autograd the graph, the dispatcher and the loss's many tiny
tensor operations cost several times the products themselves. :class:`NumpyPPOLearner` runs the
forward passes of both networks, the clipped surrogate loss of
:func:`~rlworks.agents.ppo.ppo_clip_loss`, the value loss of :func:`~rlworks.agents.ppo.value_loss`
(optionally clipped), the entropy bonus and the backward passes as preallocated calls, writing
the gradient into a flat gradient vector; the gradient clipping and the Adam step stay the
agent's. ``tests/agents/test_ppo.py`` checks that it produces autograd's loss, diagnostics and
gradient.

The module imports no torch: the networks come as :class:`ArrayStack` objects, NumPy arrays in
and out. The torch engine (:class:`~rlworks.agents.ppo.PPO`) hands it
:class:`~rlworks.nets.fast_mlp.MLPStack` views of its parameters (torch kernels with ``out=``
for the products, :meth:`NumpyPPOLearner.for_net`), where it applies: a CPU float32
:class:`~rlworks.nets.ActorCritic` whose actor and critic are plain stacks of linear layers with
tanh or relu between them, with a categorical or a diagonal-Gaussian head; everything else takes
the autograd path. The NumPy engine (:class:`~rlworks.agents.ppo_numpy.NumpyPPO`) hands it
:class:`~rlworks.nets.numpy_mlp.NumpyMLP` networks.

The gradients, with ``B`` the minibatch size, ``ρ = exp(log π - log π_old)`` and ``Â`` the
(normalized) advantages:

* ``d L_clip / d log π = -ρ·Â / B`` where the unclipped term ``ρ·Â`` is the minimum, else 0;
* categorical logits ``z``: ``d log π(a) / d z = onehot(a) - p`` and
  ``d H / d z = -p · (log p + H)``;
* Gaussian mean ``μ`` and log-std ``s``: with ``u = (a - μ)·exp(-s)``,
  ``d log π / d μ = u·exp(-s)``, ``d log π / d s = u² - 1`` and ``d H / d s = 1``;
* value ``V``: ``d L_V / d V = 2·(V - R) / B`` (0 where value clipping clips).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

import numpy as np

from rlworks.nets.numpy_mlp import HALF_LOG_2PI

if TYPE_CHECKING:
    from rlworks.nets import ActorCritic

__all__ = ["ArrayStack", "MinibatchInfo", "NumpyPPOLearner"]

# Reductions straight through the ufuncs: ndarray.sum/mean/max go through Python wrappers.
_sum = np.add.reduce


def _row_max(x: np.ndarray) -> np.ndarray:
    """``x.max(axis=1, keepdims=True)`` for ``[B, A]`` with few columns: one elementwise
    maximum per column (0.6 µs each for B = 256) instead of NumPy's reduction along a short
    axis (7.7 µs for A = 2)."""
    if x.shape[1] > 16:
        top: np.ndarray = np.maximum.reduce(x, axis=1, keepdims=True)
        return top
    top = x[:, :1].copy()  # [B, 1]
    for j in range(1, x.shape[1]):
        np.maximum(top, x[:, j : j + 1], out=top)
    return top


class MinibatchInfo(NamedTuple):
    """Loss and diagnostics of one minibatch, as :func:`ppo_clip_loss` and :func:`value_loss`
    report them (plain floats)."""

    policy_loss: float
    clip_fraction: float
    approx_kl: float
    value_loss: float
    entropy: float
    loss: float


class ArrayStack(Protocol):
    """One network of the actor-critic as the learner drives it: NumPy arrays in and out
    (:class:`~rlworks.nets.fast_mlp.MLPStack` over torch parameters,
    :class:`~rlworks.nets.numpy_mlp.NumpyMLP` over NumPy ones)."""

    @property
    def in_features(self) -> int: ...
    @property
    def out_features(self) -> int: ...
    def allocate(self, batch: int) -> None: ...
    def forward_array(self, x: np.ndarray) -> np.ndarray: ...
    def backward_array(self, grad: np.ndarray, x: np.ndarray) -> None: ...


class NumpyPPOLearner:
    """Loss, diagnostics and gradient of PPO's minibatch loss for a plain MLP actor-critic.

    Example:
        >>> flat = FlatParameters(net)  # the gradient views the learner writes into
        >>> learner = NumpyPPOLearner.for_net(net, batch_size=256)
        >>> info = learner.loss_and_grad(obs, actions, old_log_probs, old_values, advantages,
        ...                              returns, idx, clip_range=0.2)
        >>> flat.clip_grad_norm(0.5); optimizer.step()
    """

    @staticmethod
    def supports(net: ActorCritic) -> bool:
        """Whether ``net`` is CPU float32 with plain tanh/relu MLP actor and critic."""
        import torch

        from rlworks.nets.fast_mlp import MLPStack

        return (
            all(p.device.type == "cpu" and p.dtype == torch.float32 for p in net.parameters())
            and MLPStack.supports(net.actor)
            and MLPStack.supports(net.critic)
        )

    @classmethod
    def for_net(
        cls,
        net: ActorCritic,
        batch_size: int,
        *,
        vf_coef: float = 0.5,
        ent_coef: float = 0.0,
        clip_range_vf: float | None = None,
        normalize_advantages: bool = True,
    ) -> NumpyPPOLearner:
        """The learner of a torch :class:`~rlworks.nets.ActorCritic` whose parameters already
        live in a :class:`~rlworks.nets.flat.FlatParameters` buffer (their ``.grad`` tensors
        are the views the gradient is written to).

        Raises:
            ValueError: ``net`` is not a :meth:`supports` network, or has no ``.grad`` views.
        """
        from rlworks.nets.fast_mlp import MLPStack

        if not cls.supports(net):
            raise ValueError("NumpyPPOLearner needs a CPU float32 plain tanh/relu MLP ActorCritic")
        log_std = log_std_grad = None
        if net.head == "gaussian":
            if net.log_std.grad is None:
                raise ValueError("the network's parameters need .grad views (FlatParameters)")
            log_std = net.log_std.detach().numpy()  # [A], live
            log_std_grad = net.log_std.grad.numpy()  # [A], in the flat gradient
        return cls(
            MLPStack(net.actor), MLPStack(net.critic), net.head, net.action_start, batch_size,
            log_std=log_std, log_std_grad=log_std_grad, vf_coef=vf_coef, ent_coef=ent_coef,
            clip_range_vf=clip_range_vf, normalize_advantages=normalize_advantages,
        )  # fmt: skip

    def __init__(
        self,
        actor: ArrayStack,
        critic: ArrayStack,
        head: Literal["categorical", "gaussian"],
        action_start: int,
        batch_size: int,
        *,
        log_std: np.ndarray | None = None,
        log_std_grad: np.ndarray | None = None,
        vf_coef: float = 0.5,
        ent_coef: float = 0.0,
        clip_range_vf: float | None = None,
        normalize_advantages: bool = True,
    ) -> None:
        """Prepare buffers for minibatches of ``batch_size`` rows.

        Args:
            actor: The policy network (outputs logits or the Gaussian mean).
            critic: The value network (one output).
            head: ``"categorical"`` or ``"gaussian"``.
            action_start: First action of a Discrete space (subtracted from stored actions).
            batch_size: Rows per minibatch (other sizes reallocate on the fly).
            log_std: The Gaussian head's live log standard deviations ``[A]``.
            log_std_grad: Where their gradient goes ``[A]``.
            vf_coef: Weight of the value loss.
            ent_coef: Weight of the entropy bonus.
            clip_range_vf: Value clipping distance (None: none).
            normalize_advantages: Normalize each minibatch's advantages (mean 0, std 1).

        Raises:
            ValueError: A Gaussian head without ``log_std`` and ``log_std_grad``.
        """
        if head == "gaussian" and (log_std is None or log_std_grad is None):
            raise ValueError("a Gaussian head needs log_std and log_std_grad")
        self.head, self.action_start = head, action_start
        self.vf_coef, self.ent_coef = vf_coef, ent_coef
        self.clip_range_vf = clip_range_vf
        self.normalize_advantages = normalize_advantages
        self.actor, self.critic = actor, critic
        self.log_std, self.log_std_grad = log_std, log_std_grad
        self._allocate(batch_size)

    def _allocate(self, batch: int) -> None:
        self._batch = batch
        self._rows = np.arange(batch)
        self._head_state: tuple[np.ndarray, ...] = ()
        self._x = np.empty((batch, self.actor.in_features), np.float32)  # [B, D]
        self._d_out = np.empty((batch, self.actor.out_features), np.float32)  # [B, A]
        self._d_value = np.empty((batch, 1), np.float32)  # [B, 1]
        self._ones_out = np.ones(self.actor.out_features, np.float32)  # [A]
        self.actor.allocate(batch)
        self.critic.allocate(batch)

    def loss_and_grad(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        old_log_probs: np.ndarray,
        old_values: np.ndarray,
        advantages: np.ndarray,
        returns: np.ndarray,
        idx: np.ndarray,
        clip_range: float,
    ) -> MinibatchInfo:
        """Write the gradient of ``L_clip + vf_coef · L_V - ent_coef · H`` on rows ``idx`` of
        the rollout into the gradient views; return the loss and its diagnostics.

        Args:
            obs: ``[M, D]`` float32, the rollout's flattened observations (C-contiguous).
            actions: ``[M]`` integer (categorical) or ``[M, A]`` float32 (Gaussian).
            old_log_probs: ``[M]`` float32, ``log π_old(a | s)``.
            old_values: ``[M]`` float32, ``V_old(s)``.
            advantages: ``[M]`` float32 (raw: normalized here per minibatch when configured).
            returns: ``[M]`` float32, the value targets.
            idx: ``[B]`` rows of this minibatch.
            clip_range: ε of the clipped surrogate.
        """
        n = len(idx)
        if n != self._batch:
            self._allocate(n)
        x = self._x
        np.take(obs, idx, axis=0, out=x)  # [B, D]
        out = self.actor.forward_array(x)  # [B, A]
        value = self.critic.forward_array(x)[:, 0]  # [B]
        adv = self._normalized(advantages[idx])  # [B]
        if self.head == "categorical":
            log_prob, entropy_mean = self._categorical(out, actions[idx])
        else:
            log_prob, entropy_mean = self._gaussian(out, actions[idx])
        # The clipped surrogate; d L / d log π is 0 where the clipped term is the minimum.
        log_ratio = log_prob - old_log_probs[idx]  # [B]
        ratio = np.exp(log_ratio)
        unclipped = ratio * adv
        clipped = np.minimum(np.maximum(ratio, 1.0 - clip_range), 1.0 + clip_range)
        clipped *= adv
        policy_loss = -float(_sum(np.minimum(unclipped, clipped))) / n
        d_log_prob = np.multiply(unclipped, -1.0 / n)  # [B]
        d_log_prob *= unclipped <= clipped
        v_loss = self._value_grad(value, old_values[idx], returns[idx])
        self._head_grad(d_log_prob, n)
        self.actor.backward_array(self._d_out, x)
        self.critic.backward_array(self._d_value, x)
        off = ratio - 1.0
        return MinibatchInfo(
            policy_loss=policy_loss,
            clip_fraction=np.count_nonzero(np.abs(off) > clip_range) / n,
            approx_kl=float(_sum(off - log_ratio)) / n,
            value_loss=v_loss,
            entropy=entropy_mean,
            loss=policy_loss + self.vf_coef * v_loss - self.ent_coef * entropy_mean,
        )

    def _normalized(self, adv: np.ndarray) -> np.ndarray:
        """``(A - mean) / (std + 1e-8)`` with the unbiased std, as torch's ``Tensor.std``."""
        n = len(adv)
        if not self.normalize_advantages or n < 2:
            return adv
        centred: np.ndarray = adv - _sum(adv) / n  # [B]
        std = math.sqrt(float(np.dot(centred, centred)) / (n - 1))
        centred *= 1.0 / (std + 1e-8)
        return centred

    def _categorical(self, logits: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, float]:
        """``log π(a | s)`` ``[B]`` and the mean entropy; keeps ``p`` and ``log p`` for
        :meth:`_head_grad`."""
        act = actions - self.action_start if self.action_start else actions  # [B]
        shifted = logits - _row_max(logits)  # [B, A]
        exp = np.exp(shifted)
        ones = self._ones_out  # row sums as products: [B, A] @ [A]
        total = np.matmul(exp, ones)[:, None]  # [B, 1]
        log_p = shifted
        log_p -= np.log(total)  # [B, A]
        exp /= total  # p
        neg_entropy = np.matmul(exp * log_p, ones)  # [B]
        self._head_state = (act, exp, log_p, neg_entropy)
        return log_p[self._rows, act], -float(_sum(neg_entropy)) / len(act)

    def _gaussian(self, mean: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, float]:
        """``log π(a | s)`` ``[B]`` and the (state-independent) entropy; keeps the
        standardized actions for :meth:`_head_grad`."""
        assert self.log_std is not None
        n, dims = mean.shape
        inv_std = np.exp(-self.log_std)  # [A]
        u = actions.reshape(n, dims) - mean  # [B, A]
        u *= inv_std  # (a - μ) / σ
        log_norm = float(_sum(self.log_std)) + dims * HALF_LOG_2PI
        log_prob = _sum(u * u, axis=1)  # [B]
        log_prob *= -0.5
        log_prob -= log_norm
        self._head_state = (u, inv_std)
        return log_prob, log_norm + 0.5 * dims

    def _value_grad(self, value: np.ndarray, old: np.ndarray, returns: np.ndarray) -> float:
        """The value loss; writes ``vf_coef · d L_V / d V`` into the critic's output grad."""
        n = len(value)
        c = self.clip_range_vf
        predicted = value if c is None else old + np.minimum(np.maximum(value - old, -c), c)
        error = predicted - returns  # [B]
        d_value = self._d_value[:, 0]  # [B]
        np.multiply(error, 2.0 * self.vf_coef / n, out=d_value)
        if c is not None:  # no gradient where the prediction was clipped
            d_value *= np.abs(value - old) <= c
        return float(np.dot(error, error)) / n

    def _head_grad(self, d_log_prob: np.ndarray, n: int) -> None:
        """Write ``d loss / d actor output`` ``[B, A]`` (and the log-std gradient) from
        ``d loss / d log π`` and the entropy bonus."""
        d_out = self._d_out  # [B, A]
        if self.head == "categorical":
            act, p, log_p, neg_entropy = self._head_state
            np.multiply(p, -d_log_prob[:, None], out=d_out)  # d log π(a)/dz = onehot - p
            d_out[self._rows, act] += d_log_prob
            if self.ent_coef > 0:  # -ent_coef · dH/dz / B, dH/dz = -p (log p + H)
                d_out += (p * (self.ent_coef / n)) * (log_p - neg_entropy[:, None])
        else:
            assert self.log_std_grad is not None
            u, inv_std = self._head_state
            np.multiply(u * inv_std, d_log_prob[:, None], out=d_out)  # d log π / dμ = u / σ
            self.log_std_grad[:] = d_log_prob @ (u * u - 1.0) - self.ent_coef  # d/ds: u² - 1
